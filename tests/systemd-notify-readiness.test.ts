/**
 * End to end: the real executable under a fake systemd (a python3 datagram
 * listener as $NOTIFY_SOCKET) says READY=1 only once clients can connect, and
 * STOPPING=1 on SIGTERM before it exits cleanly.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { freePort } from "./_helpers.ts";

const REPO = resolve(import.meta.dir, "..");
const BINARY = join(REPO, "dist", `unibus-linux-${process.arch}`);
const CI = process.env.CI === "true";
const missing = !Bun.which("python3") ? "python3 (the fake systemd listener) is not installed"
  : !existsSync(BINARY) ? `${BINARY} is missing: build it with bun scripts/build.ts --target host` : undefined;
if (missing && !CI) console.log(`skipping readiness notification test: ${missing}`);
const it = missing && !CI ? test.skip : test;

/**
 * The listener prints one JSON line per datagram. On READY=1 it immediately
 * connects to the client port and reads the first line, so "clients can
 * connect" is checked at the moment systemd would consider the unit started.
 */
const LISTENER = `
import json, socket, sys, time
addr, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0" + addr[1:])
print(json.dumps({"bound": True}), flush=True)
while True:
    msg = s.recv(65536).decode()
    probe = None
    if "READY=1" in msg.split("\\n"):
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=2)
            c.settimeout(2)
            probe = c.makefile("rb").readline().decode()
            c.close()
        except Exception as e:
            probe = "error: %s" % e
    print(json.dumps({"msg": msg, "probe": probe, "at": time.time()}), flush=True)
`;

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "unibus-ready-"));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

interface Datagram { msg: string; probe: string | null; at: number }

it("READY=1 arrives only once clients can connect, STOPPING=1 on SIGTERM, then exit 0", async () => {
  if (missing) throw new Error(`missing prerequisite: ${missing}`);
  const clientPort = await freePort();
  const monitorPort = await freePort();
  mkdirSync(work, { recursive: true });
  const config = join(work, "node.toml");
  writeFileSync(config, `[node]\nname = "notify-test"\ndata_dir = "data"\n[client]\nlisten = "127.0.0.1:${clientPort}"\n[monitor]\nlisten = "127.0.0.1:${monitorPort}"\n[admin]\nlisten = "127.0.0.1:${await freePort()}"\n`);

  const address = `@unibus-ready-${process.pid}-${crypto.randomUUID()}`;
  const listener = Bun.spawn(["python3", "-c", LISTENER, address, String(clientPort)], { stdout: "pipe", stderr: "inherit" });
  const datagrams: Datagram[] = [];
  const waiters = new Set<() => void>();
  let bound!: () => void;
  const isBound = new Promise<void>((r) => (bound = r));
  void (async () => {
    let buffer = "";
    for await (const chunk of listener.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      for (let at = buffer.indexOf("\n"); at >= 0; at = buffer.indexOf("\n")) {
        const record = JSON.parse(buffer.slice(0, at));
        buffer = buffer.slice(at + 1);
        if (record.bound) bound();
        else datagrams.push(record as Datagram);
        for (const w of waiters) w();
      }
    }
  })();
  const waitFor = async (pred: (d: Datagram) => boolean, what: string, ms: number): Promise<Datagram> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = datagrams.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms; got ${JSON.stringify(datagrams)}`);
      await new Promise<void>((r) => {
        const w = () => { waiters.delete(w); r(); };
        waiters.add(w);
        setTimeout(w, 100);
      });
    }
  };
  await isBound;

  const unibus = Bun.spawn([BINARY, "--config", config], {
    cwd: work,
    env: { ...process.env, NOTIFY_SOCKET: address, STATE_DIRECTORY: "" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = Promise.all([new Response(unibus.stdout).text(), new Response(unibus.stderr).text()]).then((p) => p.join(""));
  try {
    const ready = await Promise.race([
      waitFor((d) => d.msg.split("\n").includes("READY=1"), "READY=1", 60_000),
      unibus.exited.then(async (code) => { throw new Error(`unibus exited ${code} before READY=1:\n${await output}`); }),
    ]);
    expect(ready.probe).toStartWith("INFO {");
    expect(datagrams.some((d) => d.msg.includes("STOPPING=1"))).toBe(false);

    unibus.kill("SIGTERM");
    const stopping = await waitFor((d) => d.msg.split("\n").includes("STOPPING=1"), "STOPPING=1", 30_000);
    expect(stopping.at).toBeGreaterThanOrEqual(ready.at);
    const code = await Promise.race([unibus.exited, Bun.sleep(60_000).then(() => "timeout")]);
    expect({ code, output: code === 0 ? "" : await output }).toEqual({ code: 0, output: "" });
  } finally {
    unibus.kill("SIGKILL");
    listener.kill();
  }
}, 120_000);
