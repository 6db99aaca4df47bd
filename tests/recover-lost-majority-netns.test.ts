/**
 * Disaster recovery on a LAN of network namespaces: a three-box cluster (a
 * holds the CA key; b and c joined) with an R3 stream loses b and c. While
 * the majority is there, or while b and c only hang (SIGSTOP: their ports
 * still accept connections), `unibus recover` on a refuses. Once they are
 * dead for good (killed, their disks gone), it makes a a cluster of one:
 * the stream's messages are there and it takes writes; then two new boxes
 * join with tokens from a and the stream has three replicas again. The
 * recovery time is printed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BIN_X64, pidsOf, tempDir, waitFor } from "./_helpers.ts";
import { Lab, type Box } from "./membership-fixtures.ts";

const ready = Lab.available("the disaster recovery test");
const dir = tempDir("unibus-recover-");
const lab = new Lab(dir.path, ["a", "b", "c", "d", "e"]);
const box = (n: string) => lab.box(n);
const timings: Record<string, number> = {};
let caFile = "";

async function joinLine(from: Box): Promise<{ address: string; token: string }> {
  const r = await lab.unibus(from, ["token", "create", "--config", from.config, "--quiet"]);
  const m = /^unibus join (\S+) --token (UB1-\S+)$/.exec(r.stdout.trim());
  if (!m) throw new Error(`no join line: ${r.stdout}${r.stderr}`);
  return { address: m[1]!, token: m[2]! };
}

async function joinBox(b: Box, from: Box): Promise<void> {
  const { address, token } = await joinLine(from);
  const r = await lab.unibus(b, ["join", address, "--token", token, "--name", b.name, "--out", b.dir]);
  if (r.code !== 0) throw new Error(`join of ${b.name} failed: ${r.stderr}`);
  lab.start(b);
}

/** natsPidsOf lists a box's nats-server processes (extracted into its data dir). */
function natsPidsOf(b: Box): number[] {
  return pidsOf(b.dir);
}

function signal(b: Box, sig: NodeJS.Signals): void {
  for (const pid of [...natsPidsOf(b), ...(b.proc ? [b.proc.pid] : [])]) {
    try {
      process.kill(pid, sig);
    } catch {
      // gone already
    }
  }
}

async function recover(b: Box, ...flags: string[]) {
  return lab.unibus(b, ["recover", "--config", b.config, ...flags], {}, 180_000);
}

beforeAll(async () => {
  if (!ready) return;
  lab.create();
  const [a, b, c] = [box("a"), box("b"), box("c")];
  const gen = join(dir.path, "generated");
  const init = Bun.spawnSync([BIN_X64, "init", "cluster", "--name", "reclab", "--node", `a=${a.ip}`, "--out", gen], { stdout: "pipe", stderr: "pipe" });
  if (init.exitCode !== 0) throw new Error(`init cluster failed: ${init.stderr.toString()}`);
  cpSync(join(gen, "certs"), join(a.dir, "certs"), { recursive: true });
  for (const f of ["cluster.secret", "join-tokens.secret"]) cpSync(join(gen, f), join(a.dir, f));
  cpSync(join(gen, "a.toml"), a.config);
  caFile = join(a.dir, "certs", "ca.pem");
  lab.start(a);
  await waitFor("a to open its join port", () => a.log.includes("join port open"), 60_000);
  await joinBox(b, a);
  await joinBox(c, a);
  await waitFor("a, b and c in one meta group", () => lab.formed([a, b, c]), 120_000, 250);
  expect((await lab.client(a, caFile, "setup", "KEEP")).ok).toBe(true);
  expect((await lab.client(b, caFile, "publish", "KEEP", "50")).acked).toBe(50);
}, 300_000);

afterAll(async () => {
  for (const n of ["b", "c"]) signal(box(n), "SIGCONT");
  await lab.destroy();
  console.log(`recovery timings (netns): ${JSON.stringify(timings)}`);
  dir[Symbol.dispose]();
});

describe.if(ready)("recovering from a lost majority", () => {
  test("recover refuses while the cluster has its majority", async () => {
    const r = await recover(box("a"), "--yes");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("has a leader");
    expect(r.stderr).toContain("unibus remove NAME");
  }, 60_000);

  test("recover refuses while b and c hang but their ports still answer", async () => {
    const a = box("a");
    // While the majority is there, a keeps what KEEP's leader reports (every 30 s).
    await waitFor("a to keep KEEP's leader report", () => {
      try {
        return JSON.parse(readFileSync(join(a.dir, "data", "stream-marks.json"), "utf8")).streams.some((m: { name: string; lastSeq: number }) => m.name === "KEEP" && m.lastSeq === 50);
      } catch {
        return false;
      }
    }, 60_000, 500);
    for (const n of ["b", "c"]) signal(box(n), "SIGSTOP");
    timings.frozen_at = Date.now();
    await waitFor("a to lose its meta leader", () => !lab.monitor(a, "jsz")?.meta_cluster?.leader, 90_000, 500);
    const r = await recover(a, "--yes");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("refusing: another member may still be alive");
    expect(r.stderr).toMatch(/\b[bc]('s port \S+ accepts connections| was heard from| \()/);
    expect(r.stdout).toContain("stream KEEP (R3): kept here up to sequence 50");
    expect(r.stdout).toMatch(/its leader [abc] last reported sequence 50 \d+ s ago, all of them here/);
    // Nothing changed: still no leader, still three servers.
    expect(lab.monitor(a, "jsz")?.meta_cluster?.cluster_size).toBe(3);
  }, 150_000);

  test("with b and c dead for good, recover makes a a writable cluster of one with its data", async () => {
    const a = box("a");
    for (const n of ["b", "c"]) {
      const b = box(n);
      signal(b, "SIGKILL");
      await b.proc?.exited;
      b.proc = undefined;
      rmSync(b.dir, { recursive: true, force: true });
    }
    const killedAt = Date.now();
    // Asked without --yes, recover checks and then wants the answer: it stops refusing once nothing
    // was heard from b and c for a minute (they hung first, then died).
    await waitFor("recover to stop refusing", async () => (await recover(a)).stderr.includes("add --yes"), 180_000, 5_000);
    timings.killed_to_checks_pass_ms = Date.now() - killedAt;
    const t0 = Date.now();
    const r = await recover(a, "--yes");
    timings.recover_command_ms = Date.now() - t0;
    console.log(r.stdout);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("a is a cluster of one");
    expect(r.stdout).toContain("removed b, c");
    expect(r.stdout).toContain("1 stream writable here");
    const info = await lab.client(a, caFile, "info", "KEEP");
    expect(info.messages).toBe(50);
    console.log(`KEEP after recover: ${JSON.stringify(info)}`);
    const wrote = await lab.client(a, caFile, "publish", "KEEP", "10");
    expect(wrote.acked).toBe(10);
    timings.killed_to_writable_ms = Date.now() - killedAt;
    const jsz = lab.monitor(a, "jsz");
    expect(jsz.meta_cluster.leader).toBe("a");
    expect(jsz.meta_cluster.cluster_size).toBe(1);
    const status = await lab.status(a);
    expect(status.status?.metaLeader).toBe("a");
  }, 240_000);

  test("two new boxes join the recovered node and the stream has three replicas again", async () => {
    const [a, d, e] = [box("a"), box("d"), box("e")];
    const t0 = Date.now();
    await joinBox(d, a);
    await joinBox(e, a);
    await waitFor("a, d and e in one meta group", () => lab.formed([a, d, e]), 120_000, 250);
    await waitFor("KEEP to have three current replicas", async () => {
      const info = await lab.client(a, caFile, "info", "KEEP");
      return info.replicas?.length === 2 && info.replicas.every((x: { current: boolean }) => x.current);
    }, 120_000, 1_000);
    timings.back_to_r3_ms = Date.now() - t0;
    const onE = await lab.client(e, caFile, "info", "KEEP");
    expect(onE.messages).toBe(60);
    expect((await lab.client(d, caFile, "publish", "KEEP", "5")).acked).toBe(5);
  }, 300_000);
});
