/**
 * Test helpers: paths to the compiled executables, free ports, temp dirs, and
 * a handle on a running unibus process. Everything here starts real
 * processes; nothing is mocked.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "node:net";
import type { Subprocess } from "bun";
import { tearDownOnSignal } from "./_teardown.ts";

/** ROOT is the repository folder. */
export const ROOT = resolve(import.meta.dir, "..");
/** BIN_X64 is the compiled x64 executable that the tests run. */
export const BIN_X64 = join(ROOT, "dist", "unibus-linux-x64");
/** BIN_ARM64 is the compiled arm64 executable, run under qemu. */
export const BIN_ARM64 = join(ROOT, "dist", "unibus-linux-arm64");
/** IN_CI is true when a missing prerequisite must fail a test rather than skip it. */
export const IN_CI = process.env.CI === "true" || process.env.CI === "1";

/**
 * prerequisite decides whether a test can run: in CI a missing prerequisite
 * throws (the test fails); elsewhere it returns false so the caller skips.
 */
export function prerequisite(ok: boolean, what: string): boolean {
  if (ok) return true;
  if (IN_CI) throw new Error(`prerequisite missing in CI: ${what}`);
  console.warn(`skipping: ${what}`);
  return false;
}

/** Ports freePort handed out in this test process: nothing listens on them until a node starts. */
const handedOut = new Set<number>();

/**
 * freePort asks the kernel for a port nobody is listening on, and never
 * returns the same port twice in one test process: ports picked for one
 * config are not bound until its node starts, so the kernel may offer one
 * again (a client port and a join port once came out equal).
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((res, rej) => {
      const srv = createServer();
      srv.once("error", rej);
      srv.listen(0, host, () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => res(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** tempDir makes a fresh folder that the returned dispose removes. */
export function tempDir(prefix = "unibus-test-"): { path: string; [Symbol.dispose](): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  const forget = tearDownOnSignal(path, () => rmSync(path, { recursive: true, force: true }));
  return {
    path,
    [Symbol.dispose]: () => {
      rmSync(path, { recursive: true, force: true });
      forget();
    },
  };
}

/** writeConfig writes a node.toml into dir and returns its path. */
export function writeConfig(dir: string, text: string, name = "node.toml"): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/**
 * nodeToml renders a minimal single-node config on the given ports. The admin
 * page is off unless `extra` has an [admin] table: its default port (8480)
 * would clash between tests running side by side.
 */
export function nodeToml(opts: { name: string; client: number; monitor: number; extra?: string }): string {
  const admin = opts.extra?.includes("[admin]") ? "" : "[admin]\nenabled = false\n";
  return `[node]\nname = "${opts.name}"\ndata_dir = "data"\n[client]\nlisten = "127.0.0.1:${opts.client}"\n[monitor]\nlisten = "127.0.0.1:${opts.monitor}"\n${admin}${opts.extra ?? ""}\n`;
}

/** runUnibus runs the executable to completion and returns exit code and output. */
export async function runUnibus(args: string[], options: { env?: Record<string, string>; cwd?: string; bin?: string; timeoutMs?: number } = {}) {
  const proc = Bun.spawn([options.bin ?? BIN_X64, ...args], {
    stdout: "pipe", stderr: "pipe", stdin: "ignore",
    env: { ...process.env, ...options.env }, cwd: options.cwd, timeout: options.timeoutMs ?? 30_000,
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** RunningUnibus is a started `unibus --config …` process whose log is collected. */
export class RunningUnibus {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  log = "";
  #waiters: (() => void)[] = [];

  constructor(args: string[], env: Record<string, string> = {}, cwd?: string, user?: { uid: number; gid: number }) {
    this.proc = Bun.spawn([BIN_X64, ...args], {
      stdin: "ignore", stdout: "pipe", stderr: "pipe",
      env: { ...process.env, ...env }, cwd, ...user,
    });
    // An interrupted test run stops this node too (its nats-server goes with it).
    const forget = tearDownOnSignal(`unibus ${args.join(" ")}`, () => stopProcess(this.proc, "SIGTERM", 10_000));
    void this.proc.exited.then(forget);
    const pump = async (s: ReadableStream<Uint8Array>) => {
      const dec = new TextDecoder();
      for await (const chunk of s) {
        this.log += dec.decode(chunk, { stream: true });
        for (const w of this.#waiters.splice(0)) w();
      }
    };
    void pump(this.proc.stdout);
    void pump(this.proc.stderr);
  }

  /** waitForLog resolves when the log matches, or rejects after timeoutMs or on exit. */
  async waitForLog(pattern: RegExp, timeoutMs = 60_000, from = 0): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!pattern.test(this.log.slice(from))) {
      if (this.proc.exitCode !== null || this.proc.signalCode) {
        await Bun.sleep(50);
        if (pattern.test(this.log.slice(from))) return;
        throw new Error(`unibus exited (${this.proc.exitCode ?? this.proc.signalCode}) before ${pattern}; log:\n${this.log}`);
      }
      if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; log:\n${this.log}`);
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), Bun.sleep(100)]);
    }
  }

  /** ready waits for the "unibus ready" line. */
  ready(timeoutMs = 60_000): Promise<void> {
    return this.waitForLog(/msg="?unibus ready/, timeoutMs);
  }

  /** stop sends a signal and waits for the exit code. */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 60_000): Promise<number | null> {
    if (this.proc.exitCode === null && !this.proc.signalCode) this.proc.kill(signal);
    const t = setTimeout(() => this.proc.kill("SIGKILL"), timeoutMs);
    await this.proc.exited;
    clearTimeout(t);
    return this.proc.exitCode;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** TIMING (UNIBUS_TEST_TIMING=1) makes waitFor print how long each wait took: where a slow test spends its time. */
const TIMING = Boolean(process.env.UNIBUS_TEST_TIMING);

/** waitFor polls a condition until it holds or the time runs out. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, everyMs = 100): Promise<void> {
  const t0 = Date.now();
  const until = t0 + timeoutMs;
  for (;;) {
    if (await check()) {
      if (TIMING) console.log(`[timing] waited ${Date.now() - t0} ms for ${what}`);
      return;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(everyMs);
  }
}

/**
 * STOP_GRACE_MS is how long a test waits for a unibus it signalled before it
 * sends SIGKILL: the product's own stop bound (a clustered node's 5 s leader
 * hand-over, then nats-server's 30 s grace before its SIGKILL, see
 * lib/config/defaults.ts) plus slack for a loaded machine. A teardown hook
 * that stops nodes this way ends well inside its time limit even when a node
 * does not stop, instead of failing as bun's "(unnamed)" hook timeout.
 */
export const STOP_GRACE_MS = 45_000;

/**
 * stopProcess sends `signal` to a process (unless it ended already), waits
 * up to graceMs for it to exit, then SIGKILLs it (a unibus's nats-server
 * child dies with it) and waits; it resolves to the exit code (null when
 * killed by a signal) and never hangs.
 */
export async function stopProcess(proc: Subprocess | undefined, signal: NodeJS.Signals = "SIGTERM", graceMs = STOP_GRACE_MS): Promise<number | null | undefined> {
  if (!proc) return undefined;
  if (proc.exitCode === null && !proc.signalCode) proc.kill(signal);
  const t = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(t);
  return proc.exitCode;
}

/** pidsOf lists the pids whose executable path contains `needle` (e.g. a data dir). */
export function pidsOf(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of new Bun.Glob("[0-9]*").scanSync({ cwd: "/proc", onlyFiles: false })) {
    try {
      const cmd = require("node:fs").readFileSync(`/proc/${entry}/cmdline`, "utf8") as string;
      if (cmd.includes(needle)) pids.push(Number(entry));
    } catch { /* gone */ }
  }
  return pids;
}

/** binaryExists tells whether the build produced an executable. */
export function binaryExists(path: string): boolean {
  return existsSync(path);
}
