/**
 * _servers.ts starts the two things every row compares: the compiled unibus
 * with a node.toml, and the same nats-server binary started directly with the
 * config unibus rendered. It also polls for the first request/reply round
 * trip, stops processes, and reads RSS from /proc.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type ConnectionOptions } from "@nats-io/transport-node";
import type { Subprocess } from "bun";
import { LEAN_JSC_ENV } from "../lib/runtime-memory.ts";

/** ROOT is the repository folder. */
export const ROOT = join(import.meta.dir, "..");
/** BIN is the compiled executable every unibus row runs. */
export const BIN = join(ROOT, "dist", "unibus-linux-x64");

const live = new Set<Subprocess>();

/** Proc is a started server process and the moment it was spawned (performance.now()). */
export interface Proc {
  kind: "unibus" | "bare";
  proc: Subprocess;
  pid: number;
  spawnedAt: number;
  /** Wall-clock spawn time (Date.now()), to line up with the time= stamps in unibus's log. */
  spawnedWall: number;
  logFile: string;
}

function spawnLogged(kind: Proc["kind"], cmd: string[], logFile: string, cwd?: string, env: Record<string, string> = {}): Proc {
  const fd = openSync(logFile, "a");
  try {
    const spawnedWall = Date.now();
    const spawnedAt = performance.now();
    const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: fd, stderr: fd, cwd, env: { ...process.env, ...env } });
    live.add(proc);
    void proc.exited.then(() => live.delete(proc));
    return { kind, proc, pid: proc.pid, spawnedAt, spawnedWall, logFile };
  } finally {
    closeSync(fd);
  }
}

/** startUnibus spawns `unibus --config FILE`; its output goes to logFile. */
export function startUnibus(configFile: string, logFile: string): Proc {
  // As installed: the unit's JSC options, unless the bench's own environment chose some.
  const chose = Object.keys(process.env).some((k) => k.startsWith("BUN_JSC_"));
  return spawnLogged("unibus", [BIN, "--config", configFile], logFile, undefined, chose ? {} : LEAN_JSC_ENV);
}

/** startBare spawns nats-server directly with a config file. */
export function startBare(binary: string, configFile: string, logFile: string): Proc {
  return spawnLogged("bare", [binary, "-c", configFile], logFile);
}

/** runUnibusCommand runs a one-shot unibus command (ca create, config check) and returns its exit code and output. */
export function runUnibusCommand(args: string[]): { code: number; out: string } {
  const r = Bun.spawnSync([BIN, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  return { code: r.exitCode ?? -1, out: r.stdout.toString() + r.stderr.toString() };
}

/** natsBinaryIn finds the nats-server unibus extracted into a data dir: <data_dir>/bin/nats-server-<sha>. */
export function natsBinaryIn(dataDir: string): string {
  const binDir = join(dataDir, "bin");
  const name = readdirSync(binDir).find((n) => /^nats-server-[0-9a-f]{64}$/.test(n));
  if (!name) throw new Error(`no extracted nats-server in ${binDir}`);
  return join(binDir, name);
}

/** readRenderedConfig parses <data_dir>/nats-server.conf (JSON after a comment line). */
export function readRenderedConfig(dataDir: string): Record<string, unknown> {
  const text = readFileSync(join(dataDir, "nats-server.conf"), "utf8");
  return JSON.parse(text.split("\n").filter((l) => !l.startsWith("#")).join("\n")) as Record<string, unknown>;
}

/**
 * bareConfigFrom copies the config unibus rendered into bareDir, changing only
 * where nats-server keeps its store and pid file (and, when given, ports), so
 * bare and unibus differ in nothing but unibus.
 */
export function bareConfigFrom(unibusDataDir: string, bareDir: string, ports?: { client: number; monitor: number }): string {
  mkdirSync(bareDir, { recursive: true });
  const conf = readRenderedConfig(unibusDataDir);
  conf.pid_file = join(bareDir, "nats-server.pid");
  if (conf.jetstream && typeof conf.jetstream === "object") (conf.jetstream as Record<string, unknown>).store_dir = bareDir;
  if (ports) {
    conf.listen = `127.0.0.1:${ports.client}`;
    conf.http = `127.0.0.1:${ports.monitor}`;
  }
  const file = join(bareDir, "nats-server.conf");
  writeFileSync(file, JSON.stringify(conf, null, 2), { mode: 0o600 });
  return file;
}

function logTail(p: Proc): string {
  try {
    return readFileSync(p.logFile, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "";
  }
}

/** clientOptions are nats.js options for the client port, with TLS when a CA file is given. */
export function clientOptions(port: number, caFile?: string): ConnectionOptions {
  const opts: ConnectionOptions = { servers: `${caFile ? "tls" : "nats"}://127.0.0.1:${port}`, timeout: 2_000, reconnect: false };
  if (caFile) opts.tls = { caFile };
  return opts;
}

/**
 * firstRoundTrip polls the client port until one request/reply round trip
 * through the server succeeds and returns that moment (performance.now()).
 * It fails early when the process exits.
 */
export async function firstRoundTrip(p: Proc, port: number, caFile?: string, timeoutMs = 60_000): Promise<number> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    if (p.proc.exitCode !== null || p.proc.signalCode) throw new Error(`${p.kind} exited (${p.proc.exitCode ?? p.proc.signalCode}) before it was ready:\n${logTail(p)}`);
    try {
      const nc = await connect(clientOptions(port, caFile));
      try {
        nc.subscribe("bench.ready", { callback: (_err, m) => { m.respond("pong"); } });
        const reply = await nc.request("bench.ready", "ping", { timeout: 2_000 });
        if (reply.string() === "pong") return performance.now();
      } finally {
        await nc.close().catch(() => {});
      }
    } catch {
      /* not listening yet */
    }
    if (performance.now() > until) throw new Error(`${p.kind} not ready after ${timeoutMs} ms:\n${logTail(p)}`);
    await Bun.sleep(5);
  }
}

/** stop sends SIGTERM (or the given signal) and waits; after timeoutMs it SIGKILLs. */
export async function stop(p: Proc, signal: NodeJS.Signals = "SIGTERM", timeoutMs = 30_000): Promise<void> {
  if (p.proc.exitCode === null && !p.proc.signalCode) p.proc.kill(signal);
  const t = setTimeout(() => p.proc.kill("SIGKILL"), timeoutMs);
  await p.proc.exited;
  clearTimeout(t);
}

/** killAll ends every process this run started and has not seen exit (used on error and at exit). */
export async function killAll(): Promise<void> {
  const procs = [...live];
  for (const proc of procs) proc.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exited));
}

/** rssKiB reads VmRSS of a process from /proc/PID/status, in KiB. */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/**
 * rssAnonKiB reads RssAnon: the private memory (heap, stacks) a process really
 * costs, without the clean executable pages it shares with the page cache.
 */
export function rssAnonKiB(pid: number): number {
  const m = /^RssAnon:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no RssAnon for pid ${pid}`);
  return Number(m[1]);
}

/** cpuTicks reads a process's user + system CPU time from /proc/PID/stat, in clock ticks (1/100 s). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** childPids lists the direct children of a process (all its threads). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  const taskDir = `/proc/${pid}/task`;
  if (!existsSync(taskDir)) return out;
  for (const tid of readdirSync(taskDir)) {
    try {
      for (const c of readFileSync(join(taskDir, tid, "children"), "utf8").trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch { /* thread gone */ }
  }
  return out;
}

/** natsChildOf finds the nats-server child of a unibus process. */
export function natsChildOf(pid: number): number {
  for (const c of childPids(pid)) {
    try {
      if (readFileSync(`/proc/${c}/cmdline`, "utf8").includes("nats-server-")) return c;
    } catch { /* gone */ }
  }
  throw new Error(`unibus ${pid} has no nats-server child`);
}
