/**
 * Two truths a user met on a real box: a cluster of one member (the first Pi
 * of a home lab, before the others join) can never elect a JetStream meta
 * leader, so status must say "join a second box" rather than "start the
 * missing nodes"; and a nats-server that is stopped (SIGSTOP) holds its ports
 * while answering nothing, so status must say "kill -CONT / restart", not
 * "start it", and systemd's STATUS= line (under a python3 stand-in for
 * systemd's notify socket) says so too while nats-server answers nothing.
 * (READY=1: tests/systemd-notify-readiness.test.ts; STATUS= equal to status's
 * first line in a cluster: tests/health-surfaces-agree.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IN_CI, RunningUnibus, freePort, runUnibus, tempDir, waitFor } from "./_helpers.ts";

const missing = !Bun.which("python3") ? "python3 (the notify socket listener) is not installed" : undefined;
if (missing && !IN_CI) console.log(`skipping: ${missing}`);
const it = missing && !IN_CI ? test.skip : test;

const LISTENER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0" + sys.argv[1][1:])
print(json.dumps("bound"), flush=True)
while True:
    print(json.dumps(s.recv(65536).decode()), flush=True)
`;

const dir = tempDir("unibus-single-member-");
let node: RunningUnibus | undefined;
let listener: ReturnType<typeof Bun.spawn> | undefined;
const datagrams: string[] = [];
let config = "";

async function status(): Promise<{ code: number; text: string; json: { problems: { kind: string; cause: string; fix: string }[] } }> {
  const [t, j] = await Promise.all([runUnibus(["status", "--config", config]), runUnibus(["status", "--config", config, "--json"])]);
  return { code: t.code, text: t.stdout + t.stderr, json: JSON.parse(j.stdout || "{}") };
}

beforeAll(async () => {
  if (missing) return;
  const [route, join_, client, monitor] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const made = await runUnibus(["init", "cluster", "--name", "solo", "--node", `a=127.0.0.1:${route}`, "--out", join(dir.path, "lab")]);
  expect(made.code).toBe(0);
  expect(made.stdout).toContain("--join 127.0.0.1:"); // init prints the join line for the next boxes
  config = join(dir.path, "lab", "a.toml");
  const text = readFileSync(config, "utf8")
    .replace(/^listen = "127\.0\.0\.1:4222"$/m, `listen = "127.0.0.1:${client}"`)
    .replace(/^listen = "0\.0\.0\.0:(\d+)"$/m, `listen = "127.0.0.1:$1"`)
    .replace(/^# join_listen = .*$/m, `join_listen = "127.0.0.1:${join_}"`);
  writeFileSync(config, `${text}\n[monitor]\nlisten = "127.0.0.1:${monitor}"\n[admin]\nenabled = false\n`);
  const address = `@unibus-single-${process.pid}-${crypto.randomUUID()}`;
  listener = Bun.spawn(["python3", "-c", LISTENER, address], { stdout: "pipe", stderr: "inherit" });
  void (async () => {
    let buffered = "";
    for await (const chunk of listener!.stdout as ReadableStream<Uint8Array>) {
      buffered += new TextDecoder().decode(chunk);
      let at;
      while ((at = buffered.indexOf("\n")) >= 0) {
        datagrams.push(JSON.parse(buffered.slice(0, at)) as string);
        buffered = buffered.slice(at + 1);
      }
    }
  })();
  await waitFor("the notify listener to bind", () => datagrams.includes("bound"), 10_000, 50);
  node = new RunningUnibus(["--config", config], { NOTIFY_SOCKET: address });
  await node.ready();
}, 90_000);

afterAll(async () => {
  if (node) {
    for (const pid of natsPid() ? [natsPid()!] : []) try { process.kill(pid, "SIGCONT"); } catch { /* gone */ }
    await node.stop();
  }
  listener?.kill();
  dir[Symbol.dispose]();
});

function natsPid(): number | undefined {
  try {
    return Number(readFileSync(join(dir.path, "lab", "data", "nats-server.pid"), "utf8").trim()) || undefined;
  } catch {
    return undefined;
  }
}

describe("a one-member cluster", () => {
  it("status says it waits for a second member, and how to join one, exit 4", async () => {
    if (missing) throw new Error(`missing prerequisite: ${missing}`);
    const s = await status();
    expect(s.code).toBe(4);
    expect(s.text.split("\n")[0]).toStartWith("BROKEN: node a, 1 broken: this cluster has one member");
    const p = s.json.problems.find((x) => x.kind === "cluster_too_small")!;
    expect(p.cause).toContain("2 or more servers");
    expect(p.fix).toContain(`sudo unibus token create --config ${config}`);
    expect(s.json.problems.map((x) => x.kind)).not.toContain("meta_no_leader"); // not "start the missing nodes": there are none
    expect(s.text).not.toContain("1 of 1");
    // nats-server reports the 2 servers it waits for; the status line says what there is.
    expect(s.text).toMatch(/jetstream +no meta leader, 1 server \(a leader needs a 2nd\)/);
    expect(s.text).not.toContain("2 servers");
  }, 60_000);
});

describe("a stopped nats-server", () => {
  it("status names the stopped pid and says kill -CONT or restart, never start it", async () => {
    if (missing) throw new Error(`missing prerequisite: ${missing}`);
    const pid = natsPid();
    expect(pid).toBeGreaterThan(1);
    process.kill(pid!, "SIGSTOP");
    try {
      const s = await status();
      expect(s.code).toBe(4);
      const p = s.json.problems.find((x) => x.kind === "nats_not_running")!;
      expect(p.cause).toContain(`nats-server (pid ${pid}) is stopped`);
      expect(p.fix).toContain(`kill -CONT ${pid}`);
      expect(p.fix).toContain("systemctl restart unibus");
      expect(p.fix).not.toStartWith("start it");
      await waitFor("STATUS= to say nats-server is stopped", () => datagrams.some((d) => d.includes(`health: BROKEN: node a, 1 broken: nats-server (pid ${pid}) is stopped`)), 40_000, 200);
    } finally {
      process.kill(pid!, "SIGCONT");
    }
    // Running on, it is the one-member cluster again.
    await waitFor("status after SIGCONT", async () => (await status()).json.problems.some((x) => x.kind === "cluster_too_small"), 30_000, 500);
  }, 120_000);

  it("a file edited and not reloaded, then a refused reload: status says the file is not what runs", async () => {
    if (missing) throw new Error(`missing prerequisite: ${missing}`);
    const original = readFileSync(config, "utf8");
    try {
      writeFileSync(config, original.replace('name = "solo"', 'name = "solo2"'));
      let s = await status();
      let p = s.json.problems.find((x) => x.kind === "config_not_applied")!;
      expect(p.cause).toContain(`${config} has changed since the running node loaded it`);
      expect(p.fix).toBe(`apply it: sudo unibus reload --config ${config} (a key that needs a restart is named in the answer)`);
      expect(s.text).toContain("node          a (cluster solo)"); // the running name, not the file's
      const r = await runUnibus(["reload", "--config", config], { timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      expect(r.stderr + r.stdout).toContain("cluster.name cannot change while running; restart unibus");
      s = await status();
      p = s.json.problems.find((x) => x.kind === "config_not_applied")!;
      expect(p.cause).toContain("refused it at its last reload (cluster.name cannot change while running; restart unibus)");
      expect(p.fix).toStartWith("restart to apply it");
      expect(s.text).toContain("node          a (cluster solo)");
    } finally {
      writeFileSync(config, original);
    }
    const s = await status();
    expect(s.json.problems.map((x) => x.kind)).not.toContain("config_not_applied"); // the file is what runs again
  }, 120_000);

  it("a node that is not running at all is still told to start", async () => {
    if (missing) throw new Error(`missing prerequisite: ${missing}`);
    await node!.stop();
    const s = await status();
    expect(s.code).toBe(4);
    expect(s.json.problems.find((x) => x.kind === "nats_not_running")!.fix).toStartWith("start it");
    node = undefined;
  }, 60_000);
});
