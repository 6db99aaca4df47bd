/**
 * start-progress.ts follows a nats-server start from its own log lines and
 * from /proc, so a long JetStream restore after an unclean stop is told apart
 * from a hung server. nats-server prints, while it enables JetStream
 * (server/jetstream.go): "Starting JetStream", then per stream "Starting
 * restore for stream 'ACC > S'", "Restored N messages for stream 'ACC > S'
 * in T" and "Recovering K consumers for stream …"; a clustered server then
 * says "JetStream cluster recovering state". Between two lines of one large
 * stream it says nothing for minutes: its CPU time and disk reads still move,
 * and that is what "still making progress" means here.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { dataDirLayout } from "../data-dir.ts";
import { writeFileAtomic } from "../fsutil.ts";

/** StartPhase names what nats-server is busy with while it is not yet ready. */
export type StartPhase = "starting" | "starting JetStream" | "restoring JetStream" | "recovering the JetStream cluster state";

/** StartProgressRecord is one moment of a start, as the node writes it to the data dir's startProgress file (times in ms since epoch). */
export interface StartProgressRecord {
  /** unibus's pid (the writer) and nats-server's pid. */
  unibusPid: number;
  natsPid: number;
  /** When this nats-server was spawned. */
  since: number;
  phase: StartPhase;
  /** The stream being restored, as nats names it ("ACC > NAME"); nats restores a few at once, this is the oldest unfinished. */
  stream?: string;
  /** Streams whose restore began so far. */
  streamsStarted: number;
  /** Streams restored so far. */
  streamsRestored: number;
  /** Streams in the store when the start began (directories), when they could be counted. */
  streamsTotal?: number;
  /** Messages in the streams restored so far. */
  messagesRestored: number;
  /** Last time a log line, CPU time or disk reads moved. */
  lastProgressAt: number;
  /** When this record was written; a record much older than the write interval belongs to a unibus that is gone. */
  writtenAt: number;
}

/** countStoredStreams counts the stream directories under `<data_dir>/jetstream/<account>/streams`; undefined when there is no store yet. */
export function countStoredStreams(dataDir: string): number | undefined {
  const root = dataDirLayout(dataDir).jetstream;
  let accounts: string[];
  try {
    accounts = readdirSync(root);
  } catch {
    return undefined;
  }
  let n = 0;
  for (const account of accounts) {
    try {
      // nats marks a stream being deleted with a leading "."; it is not restored.
      n += readdirSync(join(root, account, "streams")).filter((s) => !s.startsWith(".")).length;
    } catch {
      // not an account directory (e.g. a snapshot staging area)
    }
  }
  return n;
}

/** processWork reads a process's CPU time (clock ticks) and bytes read (rchar) from /proc; zeros when unreadable. */
export function processWork(pid: number): { cpuTicks: number; readBytes: number } {
  let cpuTicks = 0;
  let readBytes = 0;
  try {
    // Fields after the command name "(…)": state is 3rd, utime 14th, stime 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    cpuTicks = Number(fields[11]) + Number(fields[12]);
  } catch {
    // gone or not Linux
  }
  try {
    readBytes = Number(/^rchar:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"))?.[1] ?? 0);
  } catch {
    // /proc/PID/io needs the same user; unibus is nats-server's parent and runs as the same user
  }
  return { cpuTicks, readBytes };
}

/**
 * StartProgress gathers one start's progress. observe() takes every
 * nats-server log message, sample() looks at /proc; describe() says it in the
 * words status and systemd show, e.g. "restoring JetStream (stream ORDERS, 2 of 5)".
 */
export class StartProgress {
  readonly #now: () => number;
  readonly #work: (pid: number) => { cpuTicks: number; readBytes: number };
  #record: StartProgressRecord;
  #lastWork = { cpuTicks: -1, readBytes: -1 };
  /** Streams whose restore began and did not finish, oldest first. */
  readonly #open: string[] = [];

  constructor(o: { natsPid: number; dataDir?: string; now?: () => number; work?: (pid: number) => { cpuTicks: number; readBytes: number } }) {
    this.#now = o.now ?? Date.now;
    this.#work = o.work ?? processWork;
    const now = this.#now();
    const total = o.dataDir ? countStoredStreams(o.dataDir) : undefined;
    this.#record = {
      unibusPid: process.pid, natsPid: o.natsPid, since: now, phase: "starting",
      streamsStarted: 0, streamsRestored: 0, ...(total !== undefined ? { streamsTotal: total } : {}), messagesRestored: 0, lastProgressAt: now, writtenAt: now,
    };
  }

  /** record is the current state (a copy). */
  get record(): StartProgressRecord { return { ...this.#record }; }

  /** observe reads one nats-server log message (without its prefix) and moves the phase on. */
  observe(msg: string): void {
    const r = this.#record;
    r.lastProgressAt = this.#now();
    let m: RegExpExecArray | null;
    if (/^Starting JetStream\b/.test(msg)) r.phase = "starting JetStream";
    else if ((m = /Starting restore for stream '(.+)'/.exec(msg))) {
      r.phase = "restoring JetStream";
      this.#open.push(m[1]!);
      r.stream = this.#open[0]!;
      r.streamsStarted++;
      if (r.streamsTotal !== undefined && r.streamsStarted > r.streamsTotal) r.streamsTotal = r.streamsStarted;
    } else if ((m = /Restored ([\d,]+) messages for stream '(.+)'/.exec(msg))) {
      r.messagesRestored += Number(m[1]!.replace(/,/g, ""));
      r.streamsRestored++;
      const i = this.#open.indexOf(m[2]!);
      if (i >= 0) this.#open.splice(i, 1);
      if (this.#open.length) r.stream = this.#open[0]!;
    } else if (/JetStream cluster recovering state/.test(msg)) {
      r.phase = "recovering the JetStream cluster state";
    }
  }

  /** sample looks at nats-server's CPU time and reads; either moving counts as progress. Returns whether it moved. */
  sample(): boolean {
    const work = this.#work(this.#record.natsPid);
    const moved = work.cpuTicks !== this.#lastWork.cpuTicks || work.readBytes !== this.#lastWork.readBytes;
    if (moved && this.#lastWork.cpuTicks >= 0) this.#record.lastProgressAt = this.#now();
    this.#lastWork = work;
    return moved;
  }

  /** stalledMs is how long nothing moved: no log line, no CPU time, no reads. */
  stalledMs(): number {
    return this.#now() - this.#record.lastProgressAt;
  }

  /** describe says what nats-server is doing, e.g. "restoring JetStream (stream ORDERS, 2 of 5)". */
  describe(): string {
    return describeStartProgress(this.#record);
  }

  /** write saves the record for `unibus status` (atomic, 0600); errors are the caller's to ignore. */
  write(dataDir: string): void {
    this.#record.writtenAt = this.#now();
    writeFileAtomic(dataDirLayout(dataDir).startProgress, JSON.stringify(this.#record), 0o600);
  }
}

/**
 * describeStartProgress says a record in words: "restoring JetStream (stream
 * ORDERS, 2 of 5)", N being the streams restored so far plus the one named.
 */
export function describeStartProgress(r: StartProgressRecord): string {
  if (r.phase !== "restoring JetStream" || !r.stream) return r.phase;
  const name = r.stream.replace(/^\$G > /, "");
  const n = Math.min(r.streamsRestored + 1, r.streamsTotal ?? Infinity);
  const of = r.streamsTotal !== undefined ? ` of ${r.streamsTotal}` : "";
  return `restoring JetStream (stream ${name}, ${n}${of})`;
}

/** readStartProgress reads the record a starting node wrote; undefined when there is none or it is unreadable. */
export function readStartProgress(dataDir: string): StartProgressRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(dataDirLayout(dataDir).startProgress, "utf8")) as StartProgressRecord;
    return typeof r.natsPid === "number" && typeof r.since === "number" ? r : undefined;
  } catch {
    return undefined;
  }
}

/** clearStartProgress removes the record once nats-server is ready or stopped. */
export function clearStartProgress(dataDir: string): void {
  rmSync(dataDirLayout(dataDir).startProgress, { force: true });
}
