/**
 * stale.ts cleans up after a unibus that died without stopping its child
 * (SIGKILL, power loss), and keeps two unibus processes off one data dir.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readlinkSync, unlinkSync, writeSync } from "node:fs";
import { ConfigError } from "../errors.ts";
import { writeFileAtomic } from "../fsutil.ts";
import { setTimeout as sleep } from "node:timers/promises";

function readPid(file: string): number | undefined {
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

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
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
export async function stopStaleNats(pidFile: string, binDir: string): Promise<number | undefined> {
  const pid = readPid(pidFile);
  if (!pid) return undefined;
  const exe = exeOf(pid);
  if (!exe || !exe.startsWith(`${binDir}/nats-server-`)) {
    try { unlinkSync(pidFile); } catch { /* gone */ }
    return undefined;
  }
  process.kill(pid, "SIGTERM");
  if (!(await waitGone(pid, 10_000))) {
    process.kill(pid, "SIGKILL");
    await waitGone(pid, 5_000);
  }
  try { unlinkSync(pidFile); } catch { /* nats removed it */ }
  return pid;
}

/** DataDirLock marks a data dir as owned by this unibus process. */
export interface DataDirLock { release(): void }

/**
 * lockDataDir refuses to run when another live unibus owns the data dir. The
 * lock file is created with O_EXCL, so two starts at the same moment cannot
 * both win; a lock left by a dead process is taken over.
 */
export function lockDataDir(lockFile: string, dataDir: string): DataDirLock {
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lockFile, "wx", 0o600);
      try { writeSync(fd, `${process.pid}\n`); fsyncSync(fd); } finally { closeSync(fd); }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 3) throw err;
    }
    const pid = readPid(lockFile);
    if (pid && pid !== process.pid && existsSync(`/proc/${pid}`)) {
      const cmd = cmdlineOf(pid);
      if (/unibus|main\.ts/.test(cmd) || exeOf(pid) === exeOf(process.pid)) {
        throw new ConfigError(`data dir ${dataDir} is in use by another unibus (pid ${pid}); stop it first or choose another [node] data_dir`);
      }
    }
    try { unlinkSync(lockFile); } catch { /* taken over by another start meanwhile */ }
  }
  return {
    release() {
      if (readPid(lockFile) === process.pid) {
        try { unlinkSync(lockFile); } catch { /* gone */ }
      }
    },
  };
}
