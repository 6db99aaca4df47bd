/**
 * stale.ts cleans up after a unibus that died without stopping its child
 * (SIGKILL, power loss), and keeps two unibus processes off one data dir.
 */
import { existsSync, readFileSync, readlinkSync, unlinkSync } from "node:fs";
import { ConfigError, RuntimeError } from "../errors.ts";
import { tryLockFile } from "../runtime-flock.ts";
import { serviceOfPid } from "../systemd/cgroup.ts";
import { DEFAULTS } from "../config/defaults.ts";
import { setTimeout as sleep } from "node:timers/promises";

/** readPid reads a pid file (nats-server.pid, unibus.pid); undefined when absent, empty or not a pid. */
export function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function exeOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, "");
  } catch {
    return undefined;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!existsSync(`/proc/${pid}`) || /\bZ\b/.test(statusOf(pid))) return true;
    await sleep(50);
  }
  return false;
}

function statusOf(pid: number): string {
  try {
    return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "";
  } catch {
    return "";
  }
}

/**
 * stopStaleNats stops a nats-server left running by an earlier unibus on this
 * data dir: only a process whose executable is one of our extracted binaries.
 * It returns the pid it stopped, if any.
 */
export async function stopStaleNats(pidFile: string, binDir: string, kill: (pid: number, signal: NodeJS.Signals) => void = process.kill): Promise<number | undefined> {
  const pid = readPid(pidFile);
  if (!pid) return undefined;
  const exe = exeOf(pid);
  if (!exe || !exe.startsWith(`${binDir}/nats-server-`)) {
    try { unlinkSync(pidFile); } catch { /* gone */ }
    return undefined;
  }
  // The process can end between the check above and each signal (ESRCH: fine); EPERM is a real refusal.
  const signal = (sig: NodeJS.Signals): boolean => {
    try {
      kill(pid, sig);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ESRCH") return false;
      const why = code === "EPERM" ? "permission denied" : (err as Error).message;
      throw new RuntimeError(`cannot stop the nats-server (pid ${pid}) that an earlier unibus left running on this data dir: ${why}; stop it as its owner, then start unibus again`);
    }
  };
  if (signal("SIGTERM") && !(await waitGone(pid, 10_000))) {
    if (signal("SIGKILL")) await waitGone(pid, 5_000);
  }
  try { unlinkSync(pidFile); } catch { /* nats removed it */ }
  return pid;
}

/** DataDirLock marks a data dir as owned by this unibus process. */
export interface DataDirLock { release(): void }

/**
 * lockDataDir refuses to run when another live unibus owns the data dir. It
 * holds flock(2) on the lock file for as long as the node runs, so the
 * kernel decides who owns it: a lock left by a crash or a power loss is free
 * at once, and a pid reused since then cannot block a start. The file names
 * the owner's pid (for `unibus reload` and for people) and is emptied on release.
 */
export function lockDataDir(lockFile: string, dataDir: string): DataDirLock {
  const lock = tryLockFile(lockFile);
  if (!lock) {
    const pid = readPid(lockFile);
    // The installed service holds it (sudo unibus on the installed config): say that, not a lock error.
    const service = pid ? serviceOfPid(pid) : undefined;
    if (service === DEFAULTS.installedService) throw new ConfigError(`unibus is running as the systemd service ${service} (pid ${pid}) on data dir ${dataDir}; see sudo unibus status (to run it by hand instead, stop it first: sudo systemctl stop ${service})`);
    throw new ConfigError(`data dir ${dataDir} is in use by another unibus${pid ? ` (pid ${pid})` : ""}; stop it first or choose another [node] data_dir`);
  }
  lock.write(`${process.pid}\n`);
  return {
    release() {
      try { lock.write(""); } catch { /* the file is gone */ }
      lock.release();
    },
  };
}
