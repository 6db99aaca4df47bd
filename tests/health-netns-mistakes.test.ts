/**
 * The mistakes people make, on a home lab in miniature: three network
 * namespaces on a bridge, configs from `unibus init cluster`. The third box
 * gets, one after the other, another cluster name, its own CA, another route
 * secret; each time `unibus status` on a good box (over real addresses, the
 * peer probed across the bridge) and on the odd box names the cause and the
 * fix, with exit 3 on the good box and 4 on the odd one. A CA swapped under a
 * node that already has a certificate stops it at start. Fixed, all three
 * say HEALTHY with exit 0.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { BIN_X64, prerequisite, runUnibus, stopProcess, tempDir, waitFor } from "./_helpers.ts";
import { tearDownOnSignal } from "./_teardown.ts";
import { makeCaDir } from "./pki-fixtures.ts";
import { STATUS_CODES } from "./health-fixtures.ts";

const RUN = Math.random().toString(16).slice(2, 6);
const SUBNET = `10.98.${1 + Math.floor(Math.random() * 250)}`;
const BRIDGE = `uhb${RUN}`;
const nodes = ["ns-1", "ns-2", "ns-3"].map((name, i) => ({
  name, ns: `uh-${RUN}-${i + 1}`, hostVeth: `uh${RUN}h${i + 1}`, nsVeth: `uh${RUN}n${i + 1}`, ip: `${SUBNET}.${i + 1}`,
  dir: "", config: "", proc: undefined as Subprocess<"ignore", "pipe", "pipe"> | undefined, log: "",
}));
type Box = (typeof nodes)[number];
const dir = tempDir("unibus-health-netns-");
let created = false;
let forgetTearDown: (() => void) | undefined;

function sh(cmd: string[], allowFail = false): { code: number; out: string } {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  const out = p.stdout.toString() + p.stderr.toString();
  if (p.exitCode !== 0 && !allowFail) throw new Error(`${cmd.join(" ")} failed (${p.exitCode}): ${out}`);
  return { code: p.exitCode ?? -1, out };
}

function netnsAvailable(): boolean {
  const probe = `uh-${RUN}-probe`;
  const ok = sh(["ip", "netns", "add", probe], true).code === 0;
  if (ok) sh(["ip", "netns", "del", probe], true);
  return ok;
}
const ready = prerequisite(netnsAvailable(), "ip netns (root and iproute2) for the three-namespace home lab");

function start(n: Box): void {
  n.log = "";
  n.proc = Bun.spawn(["ip", "netns", "exec", n.ns, BIN_X64, "--config", n.config], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const pump = async (s: ReadableStream<Uint8Array>) => { for await (const c of s) n.log += new TextDecoder().decode(c); };
  void pump(n.proc.stdout);
  void pump(n.proc.stderr);
}

async function stop(n: Box): Promise<number | null | undefined> {
  return stopProcess(n.proc);
}

async function status(n: Box): Promise<{ code: number; text: string; json: any }> {
  const run = async (extra: string[]) => {
    const p = Bun.spawn(["ip", "netns", "exec", n.ns, BIN_X64, "status", "--config", n.config, ...extra], { stdout: "pipe", stderr: "pipe" });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    return { out, code };
  };
  const [text, json] = await Promise.all([run([]), run(["--json"])]);
  let parsed: any;
  try { parsed = JSON.parse(json.out); } catch { parsed = undefined; }
  return { code: text.code, text: text.out, json: parsed };
}

async function until(n: Box, what: string, check: (s: Awaited<ReturnType<typeof status>>) => boolean): Promise<Awaited<ReturnType<typeof status>>> {
  let last = await status(n);
  await waitFor(`${n.name}: ${what}`, async () => check((last = await status(n))), 90_000, 500).catch((err) => {
    throw new Error(`${(err as Error).message}; last status:\n${last.text}`);
  });
  return last;
}

function edit(n: Box, from: string, to: string): void {
  const text = readFileSync(n.config, "utf8");
  if (!text.includes(from)) throw new Error(`${n.config} has no ${from}`);
  writeFileSync(n.config, text.replace(from, to));
}

/** tearDown stops the nodes and removes the namespaces and the bridge: from afterAll, or on a signal (tests/_teardown.ts). */
async function tearDown(): Promise<void> {
  await Promise.all(nodes.map((n) => stopProcess(n.proc)));
  if (created) {
    for (const n of nodes) sh(["ip", "netns", "del", n.ns], true);
    sh(["ip", "link", "del", BRIDGE], true);
  }
}

beforeAll(async () => {
  if (!ready) return;
  created = true;
  forgetTearDown = tearDownOnSignal(`the namespaces and bridge ${BRIDGE}`, tearDown);
  sh(["ip", "link", "add", BRIDGE, "type", "bridge"]);
  sh(["ip", "link", "set", BRIDGE, "up"]);
  for (const n of nodes) {
    sh(["ip", "netns", "add", n.ns]);
    sh(["ip", "link", "add", n.hostVeth, "type", "veth", "peer", "name", n.nsVeth]);
    sh(["ip", "link", "set", n.nsVeth, "netns", n.ns]);
    sh(["ip", "link", "set", n.hostVeth, "master", BRIDGE]);
    sh(["ip", "link", "set", n.hostVeth, "up"]);
    sh(["ip", "netns", "exec", n.ns, "ip", "addr", "add", `${n.ip}/24`, "dev", n.nsVeth]);
    sh(["ip", "netns", "exec", n.ns, "ip", "link", "set", n.nsVeth, "up"]);
    sh(["ip", "netns", "exec", n.ns, "ip", "link", "set", "lo", "up"]);
  }
  const gen = join(dir.path, "generated");
  const res = await runUnibus(["init", "cluster", "--name", "nslab", ...nodes.flatMap((n) => ["--node", `${n.name}=${n.ip}`]), "--out", gen]);
  if (res.code !== 0) throw new Error(`init cluster failed: ${res.stderr}`);
  for (const n of nodes) {
    n.dir = join(dir.path, n.name);
    mkdirSync(n.dir, { recursive: true });
    cpSync(join(gen, "certs"), join(n.dir, "certs"), { recursive: true });
    cpSync(join(gen, "cluster.secret"), join(n.dir, "cluster.secret"));
    cpSync(join(gen, `${n.name}.toml`), join(n.dir, `${n.name}.toml`));
    n.config = join(n.dir, `${n.name}.toml`);
  }
}, 60_000);

afterAll(async () => {
  await tearDown();
  forgetTearDown?.();
  dir[Symbol.dispose]();
}, 60_000); // clustered nodes stop in parallel, each SIGKILLed after STOP_GRACE_MS at most

describe.if(ready)("a home lab where the third box is set up wrong", () => {
  const [good, , odd] = nodes as [Box, Box, Box];

  test("another cluster name: named on both sides, with the fix", async () => {
    edit(odd, 'name = "nslab"', 'name = "nslab2"');
    for (const n of nodes) start(n);
    const g = await until(good, "cluster name mismatch, degraded", (s) => s.code === STATUS_CODES.degraded && s.text.includes("cluster name mismatch"));
    expect(g.text).toContain(`ns-3 (${odd.ip}:6222) calls its cluster "nslab2", this node calls it "nslab"`);
    expect(g.text).toContain(`fix: on ns-3 (${odd.ip}:6222), set cluster.name = "nslab"`);
    const o = await until(odd, "its own cluster name", (s) => s.text.includes(`this node's cluster is "nslab2" but its peers' is "nslab"`));
    expect(o.code).toBe(STATUS_CODES.broken);
    expect(o.text).toContain(`fix: set cluster.name = "nslab" in the [cluster] table of ${odd.config}`);
  }, 180_000);

  test("its own CA: a CA swapped under an issued certificate stops the start; a fresh one is named from both sides", async () => {
    expect(await stop(odd)).toBe(0);
    edit(odd, 'name = "nslab2"', 'name = "nslab"');
    const own = await makeCaDir(odd.dir, "own-ca");
    edit(odd, 'ca_cert = "certs/ca.pem"', `ca_cert = "${own.cert}"`);
    edit(odd, 'ca_key = "certs/ca-key.pem"', `ca_key = "${own.key}"`);
    start(odd);
    expect(await odd.proc!.exited).toBe(2);
    await waitFor("odd's log to say its CA changed", () => odd.log.includes("this node's CA changed"), 10_000, 100); // the pipe may hold the last lines a moment after the exit
    rmSync(join(odd.dir, "data", "tls"), { recursive: true, force: true });
    start(odd);
    // text and --json are two runs: wait until both show it, so a snapshot taken between them cannot fail the test
    const named = `certificate authority mismatch: ns-3 (${odd.ip}:6222) presents a certificate from a different CA than this node's`;
    const g = await until(good, "CA mismatch, degraded", (s) => s.code === STATUS_CODES.degraded && s.json?.problems?.[0]?.kind === "ca_mismatch" && s.text.includes(named));
    expect(g.text).toContain(named);
    const o = await until(odd, "its own CA differs", (s) => s.text.includes("this node's CA differs from its peers'") && s.code === STATUS_CODES.broken && s.json?.certificate?.caFingerprint !== undefined);
    expect(o.code).toBe(STATUS_CODES.broken);
    expect(o.json.certificate.caFingerprint).not.toBe(g.json.certificate.caFingerprint);
  }, 180_000);

  test("another route secret: named, not 'no route'", async () => {
    expect(await stop(odd)).toBe(0);
    edit(odd, `ca_cert = "${join(odd.dir, "own-ca", "ca.pem")}"`, 'ca_cert = "certs/ca.pem"');
    edit(odd, `ca_key = "${join(odd.dir, "own-ca", "ca-key.pem")}"`, 'ca_key = "certs/ca-key.pem"');
    rmSync(join(odd.dir, "data", "tls"), { recursive: true, force: true });
    writeFileSync(join(odd.dir, "cluster.secret"), "an-entirely-different-route-secret\n", { mode: 0o600 });
    start(odd);
    const g = await until(good, "route secret mismatch", (s) => s.code === STATUS_CODES.degraded && s.json?.problems?.[0]?.kind === "route_auth_failed" && s.text.includes("route secret mismatch:") && !s.text.includes("no route to"));
    expect(g.text).toContain("route secret mismatch:");
    expect(g.text).not.toContain("no route to");
  }, 180_000);

  test("fixed: all three boxes say HEALTHY with exit 0", async () => {
    expect(await stop(odd)).toBe(0);
    cpSync(join(good.dir, "cluster.secret"), join(odd.dir, "cluster.secret"));
    start(odd);
    for (const n of nodes) {
      const s = await until(n, "healthy", (x) => x.code === STATUS_CODES.healthy);
      expect(s.text.split("\n")[0]).toBe(`HEALTHY: node ${n.name} is healthy; no problems`);
    }
  }, 240_000);
});
