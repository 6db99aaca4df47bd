/**
 * reload.ts implements `unibus reload`: ask the running node to re-read its
 * config and wait for the answer. systemd's ExecReload runs it, so
 * `systemctl reload unibus` exits non-zero, with the reason in the journal,
 * when unibus refuses the change (caddy reload is the model). It posts to
 * the node's control socket; a node without one (an older unibus still
 * running after an upgrade) gets SIGHUP, and its reload.json is polled.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../config/load.ts";
import { dataDirLayout } from "../data-dir.ts";
import { ExitCode, RuntimeError, UsageError } from "../errors.ts";
import { readReloadOutcome } from "../reload-outcome.ts";
import { readPid } from "../natsd/stale.ts";
import { configPath, parseCommand } from "./_flags.ts";
import { requestReload } from "../control/reload.ts";

/** run sends SIGHUP to the node and returns 0 when the reload was applied. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand("reload", args);
  const timeoutS = values.timeout === undefined ? 60 : Number(values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError(`--timeout ${JSON.stringify(values.timeout)} is invalid: expected a number of seconds > 0`);
  const file = configPath(values.config);
  // The running node's data dir; a file that no longer parses still names it in most cases,
  // but then the node will refuse it too, and the load error here says why at once.
  const config = loadConfig(file);
  const dataDir = config.node.dataDir;
  const asked = await requestReload(dataDir, timeoutS * 1000);
  if (asked.reached) return report(asked.outcome);
  if (asked.why === "timeout") throw new RuntimeError(`no reload outcome from unibus within ${timeoutS} s; see its log (journalctl -u unibus)`);
  const pid = values.pid !== undefined ? parsePid(values.pid) : readPid(dataDirLayout(dataDir).lock);
  if (pid === undefined || !isRunning(pid)) {
    throw new RuntimeError(`no unibus is running with data dir ${dataDir}${pid ? ` (pid ${pid} is gone)` : ""}; start it first (systemctl start unibus)`);
  }
  if (values.pid !== undefined && readPid(dataDirLayout(dataDir).lock) !== pid) {
    throw new RuntimeError(`unibus (pid ${pid}) does not run with data dir ${dataDir}: [node] data_dir changed, and that needs a restart (systemctl restart unibus)`);
  }
  return report(await awaitReload(dataDir, pid, timeoutS));
}

function report(outcome: { ok: boolean; message?: string; config?: string }): number {
  if (outcome.ok) {
    process.stdout.write(`reloaded ${outcome.config}\n`);
    return ExitCode.ok;
  }
  process.stderr.write(`error: reload refused; still running the previous configuration: ${outcome.message}\n`);
  return ExitCode.failure;
}

/** runningNode is the pid of the unibus running with dataDir, or undefined when none runs. */
export function runningNode(dataDir: string): number | undefined {
  const pid = readPid(dataDirLayout(dataDir).lock);
  return pid !== undefined && isRunning(pid) ? pid : undefined;
}

/**
 * reloadNode asks the node running with dataDir (pid) to reload and waits up
 * to timeoutS for the outcome: over its control socket, else by SIGHUP and
 * its reload.json (`unibus ca rotate` reuses it).
 */
export async function reloadNode(dataDir: string, pid: number, timeoutS: number): Promise<{ ok: boolean; message?: string; config?: string }> {
  const asked = await requestReload(dataDir, timeoutS * 1000);
  if (asked.reached) return asked.outcome;
  if (asked.why === "timeout") throw new RuntimeError(`no reload outcome from unibus (pid ${pid}) within ${timeoutS} s; see its log (journalctl -u unibus)`);
  return awaitReload(dataDir, pid, timeoutS);
}

/** awaitReload sends SIGHUP to the node and waits for its outcome in reload.json (a node without a control socket). */
async function awaitReload(dataDir: string, pid: number, timeoutS: number): Promise<{ ok: boolean; message?: string; config?: string }> {
  const sentAt = Date.now();
  try {
    process.kill(pid, "SIGHUP");
  } catch (err) {
    throw new RuntimeError(`cannot signal unibus (pid ${pid}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const until = sentAt + timeoutS * 1000;
  while (Date.now() < until) {
    const outcome = readReloadOutcome(dataDir);
    if (outcome && outcome.startedAt >= sentAt) return outcome;
    if (!isRunning(pid)) throw new RuntimeError(`unibus (pid ${pid}) exited during the reload; see its log (journalctl -u unibus)`);
    await sleep(50);
  }
  throw new RuntimeError(`no reload outcome from unibus (pid ${pid}) within ${timeoutS} s; see its log (journalctl -u unibus)`);
}

/**
 * isRunning asks the kernel (signal 0) whether pid exists. Under systemd's
 * ExecReload=, /proc cannot tell: PrivateUsers= gives the reload command a user
 * namespace of its own, and ProtectProc=invisible hides the main process from it.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function parsePid(text: string): number {
  const pid = Number(text);
  if (!/^\d+$/.test(text) || pid <= 1) throw new UsageError(`--pid ${JSON.stringify(text)} is invalid: expected a process id`);
  return pid;
}

