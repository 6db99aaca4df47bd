/**
 * schedule.ts runs the scheduled backups inside the node: [backup] every
 * (12 h by default) after the last success, the first one a few minutes
 * after the schedule first started, a failed one retried sooner; each writes
 * a new file into [backup] dir and then deletes the oldest beyond
 * [backup] keep. It records every outcome in backup-state.json for
 * `unibus status`. The clock and the backup itself are parameters, so the
 * timing has fast unit tests; the node passes the real ones.
 */
import { join } from "node:path";
import type { UnibusConfig } from "../config/load.ts";
import { backupFileName, pruneBackups } from "./files.ts";
import { lastAttemptFailed, readBackupState, writeBackupState, type BackupState } from "./state.ts";

/** FIRST_BACKUP_DELAY_MS: a new schedule's first backup comes this long after it started (or after every, if shorter). */
export const FIRST_BACKUP_DELAY_MS = 5 * 60_000;
/** RETRY_AFTER_MS: a failed backup is tried again this long after (or after every, if shorter). */
export const RETRY_AFTER_MS = 15 * 60_000;
/**
 * RETRY_AFTER_START_MS: a node started (or restarted) after a failed backup
 * tries again this soon: the fix status gives for a failure ends with a
 * restart, and the failure must not stay on status for the rest of the
 * 15 minutes once it is fixed.
 */
export const RETRY_AFTER_START_MS = 60_000;
/** MAX_POLL_MS: the schedule looks at the clock at least this often, so a changed config or a clock step is noticed. */
const MAX_POLL_MS = 60_000;

/**
 * nextBackupAt is when the next scheduled backup is due (ms since the
 * epoch), given the record; undefined when backups are off.
 */
export function nextBackupAt(config: UnibusConfig, state: BackupState, startedAt?: number): number | undefined {
  const b = config.backup;
  if (!b.enabled) return undefined;
  if (lastAttemptFailed(state)) {
    const retry = state.lastAttemptAt! + Math.min(b.everyMs, RETRY_AFTER_MS);
    // Failed before this start: retried a minute after it (the fix was likely what the restart was for).
    return startedAt !== undefined && state.lastAttemptAt! < startedAt ? Math.min(retry, startedAt + RETRY_AFTER_START_MS) : retry;
  }
  if (state.lastSuccessAt !== undefined) return state.lastSuccessAt + b.everyMs;
  return state.since + Math.min(b.everyMs, FIRST_BACKUP_DELAY_MS);
}

/** ScheduleClock is the time source and timer the schedule uses. */
export interface ScheduleClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/** realClock is the wall clock with Node timers (unref'd: a pending backup never keeps a process alive). */
export const realClock: ScheduleClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    (t as { unref?: () => void }).unref?.();
    return t;
  },
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** ScheduleLog is where the schedule says what it did. */
export interface ScheduleLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** BackupScheduleOptions wire the schedule to a node. */
export interface BackupScheduleOptions {
  config: () => UnibusConfig;
  /** Writes one backup to the file named (lib/backup/take.ts in the node); resolves with its size in bytes. */
  take: (out: string, config: UnibusConfig) => Promise<number>;
  log: ScheduleLog;
  clock?: ScheduleClock;
}

/** BackupSchedule takes the scheduled backups of one node; start() and stop() are idempotent. */
export class BackupSchedule {
  readonly #opts: BackupScheduleOptions;
  readonly #clock: ScheduleClock;
  #timer: unknown;
  #running?: Promise<void>;
  #stopped = true;
  /** When start() last armed the schedule (ms since the epoch). */
  #startedAt?: number;

  constructor(opts: BackupScheduleOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
  }

  /** start records when the schedule began (the first time only) and arms the timer. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#startedAt = this.#clock.now();
    const dataDir = this.#opts.config().node.dataDir;
    if (!readBackupState(dataDir)) writeBackupState(dataDir, { since: this.#clock.now() });
    this.#arm();
  }

  /** nextAt is when the next backup is due, for status and tests. */
  nextAt(): number | undefined {
    const config = this.#opts.config();
    const state = readBackupState(config.node.dataDir);
    return state ? nextBackupAt(config, state, this.#startedAt) : undefined;
  }

  /** tick takes a backup when one is due; the timer calls it, tests may too. Resolves when that backup ended. */
  async tick(): Promise<void> {
    if (this.#stopped) return;
    if (this.#running) return this.#running;
    const due = this.nextAt();
    if (due !== undefined && this.#clock.now() >= due) {
      this.#running = this.#takeOne().finally(() => { this.#running = undefined; });
      await this.#running;
    }
    this.#arm();
  }

  /**
   * stop disarms the timer. A backup under way is not waited for: the node
   * stops nats-server next, which ends it; its partial file is removed and,
   * being interrupted rather than failed, it is not recorded as a failure.
   */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  /** settled resolves once a backup under way has ended (tests). */
  async settled(): Promise<void> {
    await this.#running?.catch(() => {});
  }

  #arm(): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    const config = this.#opts.config();
    const due = this.nextAt();
    const poll = Math.min(MAX_POLL_MS, Math.max(1_000, Math.floor(config.backup.everyMs / 4)));
    const wait = due === undefined ? poll : Math.max(0, Math.min(poll, due - this.#clock.now()));
    this.#timer = this.#clock.setTimer(() => { void this.tick(); }, wait);
  }

  async #takeOne(): Promise<void> {
    const config = this.#opts.config();
    const dataDir = config.node.dataDir;
    const started = this.#clock.now();
    const state: BackupState = readBackupState(dataDir) ?? { since: started };
    const out = join(config.backup.dir, backupFileName(config.node.name, started));
    try {
      const bytes = await this.#opts.take(out, config);
      const ended = this.#clock.now();
      const pruned = pruneBackups(config.backup.dir, config.node.name, config.backup.keep);
      writeBackupState(dataDir, { since: state.since, lastAttemptAt: started, lastSuccessAt: ended, lastFile: out, lastBytes: bytes, lastDurationMs: ended - started });
      this.#opts.log.info("scheduled backup written", { file: out, bytes, duration_ms: ended - started, ...(pruned.length ? { deleted: pruned.length } : {}) });
    } catch (err) {
      const message = (err as Error).message;
      if (this.#stopped) {
        this.#opts.log.info("scheduled backup interrupted by the stop; the next start takes it", { error: message });
        return;
      }
      writeBackupState(dataDir, { ...state, lastAttemptAt: started, lastError: message });
      this.#opts.log.warn("scheduled backup failed; unibus status says why and how to fix it", { error: message, retry_in_s: Math.round(Math.min(config.backup.everyMs, RETRY_AFTER_MS) / 1000) });
    }
  }
}
