/**
 * process-state.ts tells, from the pid files in the data dir and /proc,
 * whether unibus and its nats-server are running, stopped (SIGSTOP, a
 * debugger) or gone. When nats-server's monitoring port does not answer,
 * that is the difference between "start it" and "restart it": saying
 * "start it" about a node that runs but hangs sends a user the wrong way.
 */
import { readFileSync } from "node:fs";
import { dataDirLayout } from "../data-dir.ts";
import { readPid } from "../natsd/stale.ts";

/** ProcessState is one process as /proc shows it: running (R/S/D), stopped (T/t), zombie (Z), or absent. */
export interface ProcessState { pid: number; state: "running" | "stopped" | "zombie" | "absent" }

/** NodeProcesses are unibus (the lock file's pid) and its nats-server (nats-server.pid), when their pid files exist. */
export interface NodeProcesses { unibus?: ProcessState; nats?: ProcessState }

/** processState reads /proc/PID/status (Linux); a pid that does not exist is "absent". */
export function processState(pid: number): ProcessState {
  let letter: string | undefined;
  try {
    letter = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  } catch {
    return { pid, state: "absent" };
  }
  const state = letter === "T" || letter === "t" ? "stopped" : letter === "Z" || letter === "X" ? "zombie" : "running";
  return { pid, state };
}

/** nodeProcesses reads the pid files of the node whose data dir is given; an unreadable data dir gives {}. */
export function nodeProcesses(dataDir: string): NodeProcesses {
  const paths = dataDirLayout(dataDir);
  const unibus = readPid(paths.lock);
  const nats = readPid(paths.natsPid);
  return { ...(unibus ? { unibus: processState(unibus) } : {}), ...(nats ? { nats: processState(nats) } : {}) };
}
