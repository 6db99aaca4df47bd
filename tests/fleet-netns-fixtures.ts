/**
 * fleet-netns-fixtures.ts builds an edge fleet in network namespaces: one
 * bridge, one namespace per box (hub nodes and edges), each box running the
 * compiled unibus on its own address, reached the way its operator would
 * (`unibus status` and curl on the box's own loopback). Names carry a random
 * run id so tests side by side never collide; `destroy` removes everything.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { BIN_X64, stopProcess } from "./_helpers.ts";
import { tearDownOnSignal } from "./_teardown.ts";

/** sh runs a command and throws with its output when it fails (unless allowFail). */
export function sh(cmd: string[], allowFail = false): { code: number; out: string } {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  const out = p.stdout.toString() + p.stderr.toString();
  if (p.exitCode !== 0 && !allowFail) throw new Error(`${cmd.join(" ")} failed (${p.exitCode}): ${out}`);
  return { code: p.exitCode ?? -1, out };
}

/** netnsAvailable tells whether this machine lets the test make network namespaces (root and iproute2). */
export function netnsAvailable(run: string): boolean {
  const probe = `ubf-${run}-probe`;
  const ok = sh(["ip", "netns", "add", probe], true).code === 0;
  if (ok) sh(["ip", "netns", "del", probe], true);
  return ok;
}

/** Box is one namespace with an address on the bridge, its folder and, once started, its unibus. */
export interface Box {
  name: string;
  ns: string;
  hostVeth: string;
  ip: string;
  dir: string;
  config: string;
  proc?: Subprocess<"ignore", "pipe", "pipe">;
  log: string;
}

/** Fleet is the bridge and the boxes on it. */
export class Fleet {
  readonly run = Math.random().toString(16).slice(2, 6);
  readonly subnet = `10.${200 + Math.floor(Math.random() * 50)}.${1 + Math.floor(Math.random() * 250)}`;
  readonly bridge = `ubf${this.run}`;
  readonly boxes: Box[] = [];
  #created = false;
  #forget?: () => void;

  constructor(readonly root: string) {}

  /** up creates the bridge. */
  up(): void {
    sh(["ip", "link", "add", this.bridge, "type", "bridge"]);
    this.#created = true;
    this.#forget = tearDownOnSignal(`the fleet's namespaces and bridge ${this.bridge}`, () => this.destroy());
    sh(["ip", "addr", "add", `${this.subnet}.254/24`, "dev", this.bridge]);
    sh(["ip", "link", "set", this.bridge, "up"]);
  }

  /** addBox makes a namespace with address subnet.hostPart, linked to the bridge. */
  addBox(name: string, hostPart: number): Box {
    const i = this.boxes.length + 1;
    const box: Box = { name, ns: `ubf-${this.run}-${name}`, hostVeth: `uf${this.run}h${i}`, ip: `${this.subnet}.${hostPart}`, dir: join(this.root, name), config: "", log: "" };
    const nsVeth = `uf${this.run}n${i}`;
    sh(["ip", "netns", "add", box.ns]);
    sh(["ip", "link", "add", box.hostVeth, "type", "veth", "peer", "name", nsVeth]);
    sh(["ip", "link", "set", nsVeth, "netns", box.ns]);
    sh(["ip", "link", "set", box.hostVeth, "master", this.bridge]);
    sh(["ip", "link", "set", box.hostVeth, "up"]);
    sh(["ip", "netns", "exec", box.ns, "ip", "addr", "add", `${box.ip}/24`, "dev", nsVeth]);
    sh(["ip", "netns", "exec", box.ns, "ip", "link", "set", nsVeth, "up"]);
    sh(["ip", "netns", "exec", box.ns, "ip", "link", "set", "lo", "up"]);
    mkdirSync(box.dir, { recursive: true });
    this.boxes.push(box);
    return box;
  }

  /** start runs `unibus --config` inside the box's namespace, collecting its log. */
  start(box: Box): void {
    box.proc = Bun.spawn(["ip", "netns", "exec", box.ns, BIN_X64, "--config", box.config], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const pump = async (s: ReadableStream<Uint8Array>) => { for await (const c of s) box.log += new TextDecoder().decode(c); };
    void pump(box.proc.stdout);
    void pump(box.proc.stderr);
  }

  /** stop ends a box's unibus with a signal and waits for it. */
  async stop(box: Box, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    await stopProcess(box.proc, signal);
    box.proc = undefined;
  }

  /** link takes a box's cable out (down) or puts it back (up): no FIN, no RST, the far side must notice by itself. */
  link(box: Box, state: "up" | "down"): void {
    sh(["ip", "link", "set", box.hostVeth, state]);
  }

  /** curlJson reads a URL from inside a box's namespace (its loopback monitoring); undefined when it does not answer. */
  async curlJson<T>(box: Box, url: string): Promise<T | undefined> {
    const p = Bun.spawn(["ip", "netns", "exec", box.ns, "curl", "-s", "-m", "2", url], { stdout: "pipe", stderr: "ignore" });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    if (code !== 0 || !out.trim()) return undefined;
    try {
      return JSON.parse(out) as T;
    } catch {
      return undefined;
    }
  }

  /** status runs `unibus status [--json]` inside a box's namespace. */
  async status(box: Box, json = true): Promise<{ code: number; text: string; json?: any }> {
    const p = Bun.spawn(["ip", "netns", "exec", box.ns, BIN_X64, "status", ...(json ? ["--json"] : []), "--config", box.config], { stdout: "pipe", stderr: "pipe" });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    let parsed: unknown;
    if (json && out.trim()) {
      try { parsed = JSON.parse(out); } catch { /* not JSON: kept as text */ }
    }
    return { code, text: out, ...(parsed ? { json: parsed } : {}) };
  }

  /** destroy stops every box (all at once, SIGKILL after STOP_GRACE_MS) and removes the namespaces and the bridge. */
  async destroy(): Promise<void> {
    await Promise.all(this.boxes.map((b) => stopProcess(b.proc)));
    for (const b of this.boxes) sh(["ip", "netns", "del", b.ns], true);
    if (this.#created) sh(["ip", "link", "del", this.bridge], true);
    this.#forget?.();
  }
}

/** writeSecret writes a 0600 secret file. */
export function writeSecret(file: string, secret: string): void {
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
}

/** LeafzConnection is the part of one /leafz entry the fleet tests read. */
export interface LeafzConnection { name: string; ip: string; port: number; is_spoke?: boolean }
