/**
 * Fast tests of the supervisor's own logic (readiness race, back-off,
 * restart, stop, reload outcome) with a fake child and a virtual clock. The
 * real nats-server is supervised in tests/node-runs-and-supervises.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { Logger } from "../../lib/log.ts";
import { NatsSupervisor, type Clock } from "../../lib/natsd/supervisor.ts";
import type { ChildProcess } from "../../lib/runtime-process.ts";
import { SUPERVISION } from "../../lib/config/defaults.ts";

/** FakeChild is a process whose output and exit the test decides. */
class FakeChild implements ChildProcess {
  static nextPid = 1000;
  readonly pid = FakeChild.nextPid++;
  readonly signals: string[] = [];
  ready = true;
  alive = true;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  #resolve!: (e: { code: number | null; signal: string | null }) => void;
  #err!: ReadableStreamDefaultController<Uint8Array>;
  #out!: ReadableStreamDefaultController<Uint8Array>;
  /** Signals the fake obeys by exiting; SIGHUP only logs a reload line. */
  exitOn = new Set(["SIGTERM", "SIGKILL", "SIGUSR2"]);

  constructor() {
    this.exited = new Promise((r) => { this.#resolve = r; });
    this.stderr = new ReadableStream({ start: (c) => { this.#err = c; } });
    this.stdout = new ReadableStream({ start: (c) => { this.#out = c; } });
  }

  say(line: string): void {
    this.#err.enqueue(new TextEncoder().encode(`${line}\n`));
  }

  exit(code: number | null, signal: string | null = null): void {
    if (!this.alive) return;
    this.alive = false;
    try { this.#err.close(); this.#out.close(); } catch { /* closed */ }
    this.#resolve({ code, signal });
  }

  kill(signal: NodeJS.Signals): void {
    this.signals.push(signal);
    if (signal === "SIGHUP") this.say(`[${this.pid}] [INF] Reloaded server configuration`);
    else if (this.exitOn.has(signal)) this.exit(null, signal);
  }
}

/** VirtualClock advances its time by every sleep instead of waiting. */
class VirtualClock implements Clock {
  time = 1_000_000;
  readonly sleeps: number[] = [];
  now(): number { return this.time; }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const abort = () => reject(signal!.reason);
      signal?.addEventListener("abort", abort, { once: true });
      setImmediate(() => {
        signal?.removeEventListener("abort", abort);
        if (signal?.aborted) return;
        this.time += ms;
        resolve();
      });
    });
  }
}

/** until polls a condition between macrotasks: the supervisor's steps are all asynchronous. */
async function until(what: string, cond: () => boolean, tries = 20_000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function harness(options: { makeChild?: (n: number) => FakeChild; lameDuckMs?: number } = {}) {
  const starting: { text: string; progressing: boolean; waitedMs: number }[] = [];
  const clock = new VirtualClock();
  const children: FakeChild[] = [];
  const lines: string[] = [];
  const readies: { pid: number; restart: boolean }[] = [];
  const log = new Logger({ level: "debug", format: "json", sink: (line) => lines.push(line) });
  const supervisor = new NatsSupervisor({
    binaryPath: "/nonexistent/nats-server",
    configFile: "/nonexistent/nats.conf",
    log,
    clock,
    spawn: () => {
      const child = options.makeChild?.(children.length) ?? new FakeChild();
      children.push(child);
      return child;
    },
    monitor: {
      healthy: async () => {
        const c = children.at(-1);
        return c && c.alive && c.ready ? { ok: true, detail: "ok" } : { ok: false, detail: "connection refused" };
      },
    },
    onReady: (info) => readies.push(info),
    onStarting: ({ text, progressing, waitedMs }) => starting.push({ text, progressing, waitedMs }),
    ...(options.lameDuckMs !== undefined ? { lameDuckMs: options.lameDuckMs } : {}),
  });
  return { clock, children, lines, readies, supervisor, starting };
}

describe("supervisor", () => {
  test("start resolves once the child answers healthy and announces it once", async () => {
    const h = harness();
    await h.supervisor.start();
    expect(h.supervisor.state).toBe("ready");
    expect(h.readies).toEqual([{ pid: h.children[0]!.pid, restart: false }]);
    await h.supervisor.stop();
    expect(h.children[0]!.signals).toEqual(["SIGTERM"]);
    expect(h.supervisor.state).toBe("stopped");
  });

  test("a child that exits during start fails start with its exit code and last output", async () => {
    const h = harness({
      makeChild: () => {
        const c = new FakeChild();
        c.ready = false;
        queueMicrotask(() => { c.say("[1] [FTL] Error listening on port: 4222, address already in use"); setImmediate(() => c.exit(1)); });
        return c;
      },
    });
    const err = await h.supervisor.start().then(() => undefined, (e: Error) => e);
    expect(err?.message).toContain("nats-server exited during start (exit code 1)");
    expect(err?.message).toContain("address already in use");
    expect(h.readies).toEqual([]);
  });

  test("a child that restores JetStream for minutes is never killed; its progress is reported", async () => {
    const h = harness({ makeChild: () => Object.assign(new FakeChild(), { ready: false }) });
    const started = h.supervisor.start();
    await until("the child", () => h.children.length === 1);
    const child = h.children[0]!;
    const t0 = h.clock.time;
    child.say("[1] [INF] Starting JetStream");
    child.say("[1] [INF]   Starting restore for stream '$G > ORDERS'");
    // Far beyond the 120 s the supervisor used to allow; nothing moves after the first lines.
    await until("ten virtual minutes", () => h.clock.time - t0 > 600_000, 200_000);
    expect(h.supervisor.starting).toBe("restoring JetStream (stream ORDERS, 1)");
    child.say("[1] [INF]   Restored 200,000 messages for stream '$G > ORDERS' in 9m58s");
    child.ready = true;
    await started;
    expect(child.signals).toEqual([]);
    expect(h.supervisor.state).toBe("ready");
    expect(h.starting[0]).toEqual({ text: "restoring JetStream (stream ORDERS, 1)", progressing: true, waitedMs: expect.any(Number) });
    // Two virtual minutes without a line, CPU time or reads: named as stalled, still not killed.
    expect(h.starting.at(-1)!.progressing).toBe(false);
    expect(h.lines.some((l) => l.includes("shows no progress"))).toBe(true);
    expect(h.lines.some((l) => l.includes("nats-server is still starting: restoring JetStream (stream ORDERS, 1)"))).toBe(true);
    expect(h.supervisor.starting).toBeUndefined();
    await h.supervisor.stop();
  });

  test("a stop during a start that waits for readiness ends the start at once, never announcing the child", async () => {
    const h = harness({ makeChild: () => Object.assign(new FakeChild(), { ready: false }) });
    const started = h.supervisor.start().then(() => undefined, (e: Error) => e);
    await until("the child to be spawned", () => h.children.length === 1);
    const sleepsBefore = h.clock.sleeps.length;
    await h.supervisor.stop();
    const err = await started;
    expect(err?.message).toContain("stopped during start");
    expect(h.children[0]!.signals).toEqual(["SIGTERM"]);
    expect(h.readies).toEqual([]);
    // Nowhere near the ready timeout: a few polls at most.
    expect(h.clock.sleeps.length - sleepsBefore).toBeLessThan(5);
  });

  test("crashes are restarted with doubling back-off, capped at the maximum", async () => {
    const h = harness();
    await h.supervisor.start();
    const delays: number[] = [];
    for (let crash = 1; crash <= 9; crash++) {
      const before = h.clock.sleeps.length;
      h.children.at(-1)!.exit(2);
      await until(`restart ${crash}`, () => h.readies.length === crash + 1);
      delays.push(h.clock.sleeps[before]!);
    }
    const expected: number[] = [];
    for (let d: number = SUPERVISION.restartBackoffInitialMs; expected.length < 9; d = Math.min(d * 2, SUPERVISION.restartBackoffMaxMs)) expected.push(d);
    expect(delays).toEqual(expected);
    expect(delays.at(-1)).toBe(SUPERVISION.restartBackoffMaxMs);
    expect(h.supervisor.restarts).toBe(9);
    expect(h.readies.at(-1)!.restart).toBe(true);
    expect(h.lines.some((l) => l.includes("nats-server exited unexpectedly; restarting"))).toBe(true);
    await h.supervisor.stop();
  });

  test("a child that stayed up long enough resets the back-off", async () => {
    const h = harness();
    await h.supervisor.start();
    for (let crash = 1; crash <= 3; crash++) {
      h.children.at(-1)!.exit(2);
      await until(`restart ${crash}`, () => h.readies.length === crash + 1);
    }
    h.clock.time += SUPERVISION.restartStableMs + 1;
    const before = h.clock.sleeps.length;
    h.children.at(-1)!.exit(2);
    await until("restart after a stable run", () => h.readies.length === 5);
    expect(h.clock.sleeps[before]).toBe(SUPERVISION.restartBackoffInitialMs);
    await h.supervisor.stop();
  });

  test("a failed restart is retried with the next back-off step", async () => {
    const h = harness({
      makeChild: (n) => {
        const c = new FakeChild();
        if (n === 1) { c.ready = false; setImmediate(() => c.exit(1)); }
        return c;
      },
    });
    await h.supervisor.start();
    h.children[0]!.exit(2);
    await until("second restart", () => h.readies.length === 2);
    expect(h.children.length).toBe(3);
    expect(h.lines.some((l) => l.includes("nats-server restart failed"))).toBe(true);
    await h.supervisor.stop();
  });

  test("stop during the back-off wait cancels the restart", async () => {
    const h = harness();
    await h.supervisor.start();
    h.children[0]!.exit(2);
    await until("restarting", () => h.supervisor.state === "restarting");
    await h.supervisor.stop();
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(h.children.length).toBe(1);
    expect(h.supervisor.state).toBe("stopped");
  });

  test("stop uses lame duck when configured and kills a child that does not leave in time", async () => {
    const h = harness({ lameDuckMs: 30_000, makeChild: () => { const c = new FakeChild(); c.exitOn = new Set(["SIGKILL"]); return c; } });
    await h.supervisor.start();
    await h.supervisor.stop();
    expect(h.children[0]!.signals).toEqual(["SIGUSR2", "SIGKILL"]);
    expect(h.clock.sleeps).toContain(30_000 + SUPERVISION.stopGraceMs);
    expect(h.lines.some((l) => l.includes("did not stop in time"))).toBe(true);
  });

  test("stop during start wins: the child is stopped and never announced", async () => {
    const h = harness({ makeChild: () => Object.assign(new FakeChild(), { ready: false }) });
    const starting = h.supervisor.start();
    await until("spawn", () => h.children.length === 1);
    await h.supervisor.stop();
    h.children[0]!.ready = true;
    await starting.catch(() => {});
    expect(h.readies).toEqual([]);
    expect(h.supervisor.state).toBe("stopped");
  });

  test("reload reports what nats-server said, or that it said nothing", async () => {
    const h = harness();
    await h.supervisor.start();
    expect(await h.supervisor.reload()).toEqual({ ok: true, message: "Reloaded server configuration" });
    h.children[0]!.kill = (signal) => { if (signal === "SIGHUP") h.children[0]!.say("[1] [ERR] Failed to reload server configuration: config reload not supported for jetstream"); };
    expect((await h.supervisor.reload()).ok).toBe(false);
    h.children[0]!.kill = () => {};
    expect(await h.supervisor.reload()).toEqual({ ok: false, message: "nats-server did not confirm the reload" });
    h.children[0]!.exit(0);
    await h.supervisor.stop();
  });
});
