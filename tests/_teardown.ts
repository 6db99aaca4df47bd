/**
 * _teardown.ts removes what a test process made (running nodes, network
 * namespaces and bridges, booted boxes, VM networks) when the process is
 * stopped by a signal. bun test runs no afterAll then, so an interrupted run
 * (Ctrl-C, npm test's forwarded SIGTERM, `timeout`) left them to nobody:
 * nodes holding ports, namespaces piling up with every run.
 *
 * A fixture registers its own dispose when it makes something and forgets it
 * once it has disposed; the first SIGINT, SIGTERM or SIGHUP runs every
 * registered dispose, newest first, and then exits (130, 143, 129). A signal
 * more than a second later exits at once; one sooner is the same stop
 * delivered twice and is ignored. The tests go on running meanwhile and fail.
 */

/** Dispose is a fixture's own clean-up; it may be asked again by its owner and must be safe twice. */
type Dispose = () => Promise<unknown> | unknown;

const LIVE = new Map<number, { what: string; dispose: Dispose }>();
let nextId = 1;
let signalled: NodeJS.Signals | undefined;
let installed = false;

/**
 * tearDownOnSignal registers `dispose` (named `what` for the message) to run
 * if this test process is stopped by a signal; the returned function forgets
 * it (call it from the fixture's own dispose).
 */
export function tearDownOnSignal(what: string, dispose: Dispose): () => void {
  install();
  const id = nextId++;
  LIVE.set(id, { what, dispose });
  return () => void LIVE.delete(id);
}

/** stoppingSignal is the signal that is stopping this test process, if any: fixtures make nothing new after it. */
export function stoppingSignal(): NodeJS.Signals | undefined {
  return signalled;
}

/** DUPLICATE_MS: signals this soon after the first are the same stop delivered twice (a terminal's Ctrl-C reaches the whole group, and npm test passes it on as well). */
const DUPLICATE_MS = 1_000;

function install(): void {
  if (installed) return;
  installed = true;
  let firstAt = 0;
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    process.on(signal, () => {
      if (signalled) {
        // A second stop asked by a person forces the exit; the same stop delivered twice does not cut the teardown short.
        if (Date.now() - firstAt > DUPLICATE_MS) process.exit(code);
        return;
      }
      signalled = signal;
      firstAt = Date.now();
      const live = [...LIVE.values()];
      console.error(`tests: ${signal}: removing ${live.length === 0 ? "nothing" : live.map((l) => l.what).join(", ")} before exiting`);
      void (async () => {
        // Newest first: a lab's nodes stop before the folder they write into is removed.
        for (const l of live.reverse()) {
          try {
            await l.dispose();
          } catch (err) {
            console.error(`tests: could not remove ${l.what}: ${(err as Error).message}`);
          }
        }
      })().finally(() => process.exit(code));
    });
  }
}
