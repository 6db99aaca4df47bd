/**
 * supervisor.ts runs nats-server as a child: start and wait for readiness
 * (racing an early exit), relay its log, restart it after a crash with capped
 * exponential back-off, reload it with SIGHUP and stop it gracefully.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { RuntimeError } from "../errors.ts";
import { SUPERVISION } from "../config/defaults.ts";
import type { Logger } from "../log.ts";
import { spawnChild, type ChildProcess } from "../runtime-process.ts";
import type { MonitorClient } from "./monitor.ts";
import { RepeatFolder, parseNatsLogLine, readLines } from "./nats-log.ts";
import { StartProgress, clearStartProgress, type StartProgressRecord } from "./start-progress.ts";

/** Spawner starts the child; production passes spawnChild, unit tests a fake process. */
export type Spawner = (cmd: string[], options: { env: Record<string, string> }) => ChildProcess;

/**
 * Clock is the supervisor's sense of time: now() for deadlines and uptime,
 * sleep() for polls and back-off (rejecting when its signal aborts). Unit
 * tests pass a virtual clock so back-off runs without waiting.
 */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** systemClock is the real time: Date.now and timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, signal ? { signal } : undefined),
};

/** SupervisorOptions wire the supervisor to one node's files. */
export interface SupervisorOptions {
  binaryPath: string;
  configFile: string;
  monitor: Pick<MonitorClient, "healthy">;
  /** How to start the child; spawnChild by default. */
  spawn?: Spawner;
  /** Time source for deadlines, polls and back-off; systemClock by default. */
  clock?: Clock;
  log: Logger;
  /** When set, stop uses nats lame-duck mode (SIGUSR2) and waits this long plus a grace. */
  lameDuckMs?: number;
  /**
   * When true (a clustered JetStream node), a stop first hands this server's
   * stream and meta leaderships to the other members (nats's lame-duck mode
   * steps its RAFT leaders down, then shuts JetStream down), then ends with
   * SIGTERM: a planned restart never leaves a leaderless group to time out
   * an election while writers wait.
   */
  handOverLeaders?: boolean;
  /** Sees every nats-server log message (before repeats are folded), e.g. to keep the causes it names. */
  onLine?: (msg: string) => void;
  /**
   * The node's data dir (= JetStream's store dir): the start counts its
   * streams and writes its progress there for `unibus status`.
   */
  dataDir?: string;
  /**
   * Called every SUPERVISION.startReportMs while nats-server is not ready yet
   * (a long JetStream restore), with what it is doing in words and whether it
   * moved since the last report; e.g. to extend systemd's start timeout.
   */
  onStarting?: (info: { text: string; progressing: boolean; waitedMs: number; record: StartProgressRecord }) => void;
  /** Called after every successful (re)start, e.g. to tell systemd. */
  onReady?: (info: { pid: number; restart: boolean }) => void;
  timings?: Partial<typeof SUPERVISION>;
}

/** ReloadResult tells what nats-server said about a reload. */
export interface ReloadResult { ok: boolean; message: string }

/** SupervisorState is what the admin page and status show. */
export type SupervisorState = "idle" | "starting" | "ready" | "restarting" | "stopping" | "stopped";

/**
 * NatsSupervisor owns the nats-server child for the life of the node. start()
 * fails with the child's last stderr lines when it cannot become ready; after
 * that, crashes are repaired in the background until stop().
 */
export class NatsSupervisor {
  readonly #opts: SupervisorOptions;
  readonly #t: typeof SUPERVISION;
  readonly #clock: Clock;
  readonly #spawn: Spawner;
  #child?: ChildProcess;
  #state: SupervisorState = "idle";
  #tail: string[] = [];
  #lineWaiters = new Set<(msg: string) => void>();
  #restarts = 0;
  #backoff: number;
  #startedAt = 0;
  #stopping?: Promise<void>;
  #restartTimer?: AbortController;
  #progress?: StartProgress;

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
    this.#t = { ...SUPERVISION, ...opts.timings };
    this.#clock = opts.clock ?? systemClock;
    this.#spawn = opts.spawn ?? spawnChild;
    this.#backoff = this.#t.restartBackoffInitialMs;
  }

  /** state is the supervisor's current phase. */
  get state(): SupervisorState { return this.#state; }
  /** pid is the running child's pid, if any. */
  get pid(): number | undefined { return this.#child?.pid; }
  /** restarts counts crash restarts since start(). */
  get restarts(): number { return this.#restarts; }
  /** starting is what a child that is not ready yet is doing, in words ("restoring JetStream (stream S, 2 of 5)"); undefined once ready. */
  get starting(): string | undefined { return this.#progress?.describe(); }
  /** startedAt is when the current child became ready (ms since epoch). */
  get startedAt(): number { return this.#startedAt; }

  /** start spawns nats-server and resolves once /healthz answers 200. */
  async start(): Promise<void> {
    this.#state = "starting";
    await this.#spawnAndWait(false);
  }

  async #spawnAndWait(restart: boolean): Promise<void> {
    const { log } = this.#opts;
    this.#tail = [];
    const child = this.#spawn([this.#opts.binaryPath, "-c", this.#opts.configFile], { env: childEnv(process.env) });
    this.#child = child;
    const natsLog = log.child({ component: "nats" });
    const folder = new RepeatFolder();
    const relay = (line: string) => {
      const { level, msg } = parseNatsLogLine(line);
      this.#tail.push(line);
      if (this.#tail.length > this.#t.stderrTailLines) this.#tail.shift();
      this.#opts.onLine?.(msg);
      const folded = folder.fold(level, msg);
      if (folded) natsLog.write(folded.level, folded.msg);
      for (const waiter of this.#lineWaiters) waiter(msg);
    };
    void readLines(child.stderr, relay).catch(() => {});
    void readLines(child.stdout, relay).catch(() => {});
    let exited: { code: number | null; signal: string | null } | undefined;
    child.exited.then((e) => { exited = e; });
    // No deadline: a JetStream restore after an unclean stop takes as long as
    // the disk and CPU need, and killing it only starts it over (nats-server#6313).
    // Progress is reported instead; a stalled child is only named, never killed here
    // (under systemd, the start timeout stops being extended once nothing moves).
    const progress = new StartProgress({ natsPid: child.pid, ...(this.#opts.dataDir ? { dataDir: this.#opts.dataDir } : {}), now: () => this.#clock.now() });
    const observe = (msg: string) => progress.observe(msg);
    this.#lineWaiters.add(observe);
    this.#progress = progress;
    const t0 = this.#clock.now();
    let nextReport = t0 + this.#t.startReportMs;
    let stallWarned = false;
    try {
      for (;;) {
        // stop() during a start: it is stopping the child; the start ends here.
        if (this.#stopRequested()) throw new RuntimeError("nats-server was stopped during start");
        if (exited) {
          await this.#clock.sleep(20); // let the last stderr lines arrive
          throw new RuntimeError(
            `nats-server exited during start (${exited.signal ? `signal ${exited.signal}` : `exit code ${exited.code}`}); last output:\n  ${this.#tail.join("\n  ") || "(none)"}`,
          );
        }
        const health = await this.#opts.monitor.healthy();
        if (health.ok) break;
        const now = this.#clock.now();
        if (now >= nextReport) {
          nextReport = now + this.#t.startReportMs;
          const moved = progress.sample();
          const stalledMs = progress.stalledMs();
          const progressing = moved || stalledMs < this.#t.startReportMs;
          const text = progress.describe();
          const waited_s = Math.round((now - t0) / 1000);
          if (stalledMs >= this.#t.startStallMs) {
            if (!stallWarned) log.warn("nats-server is not ready and shows no progress (no log line, no CPU time, no reads); still waiting", { doing: text, waited_s, stalled_s: Math.round(stalledMs / 1000), pid: child.pid, last_health: health.detail });
            stallWarned = true;
          } else {
            stallWarned = false;
            log.info(`nats-server is still starting: ${text}`, { waited_s, pid: child.pid });
          }
          try {
            if (this.#opts.dataDir) progress.write(this.#opts.dataDir);
          } catch {
            // status then says less; the start goes on
          }
          this.#opts.onStarting?.({ text, progressing, waitedMs: now - t0, record: progress.record });
        }
        await this.#clock.sleep(this.#t.readyPollMs);
      }
    } finally {
      this.#lineWaiters.delete(observe);
      this.#progress = undefined;
      if (this.#opts.dataDir) {
        try { clearStartProgress(this.#opts.dataDir); } catch { /* status ignores a record whose writer is gone */ }
      }
    }
    if (this.#clock.now() - t0 > this.#t.startReportMs) log.info("nats-server finished starting", { waited_s: Math.round((this.#clock.now() - t0) / 1000), streams: progress.record.streamsStarted, messages_restored: progress.record.messagesRestored });
    // stop() overtook a (re)start: the child is being stopped, it must not be announced.
    if (this.#stopRequested()) return;
    this.#state = "ready";
    this.#startedAt = this.#clock.now();
    log.info(restart ? "nats-server restarted and ready" : "nats-server ready", { pid: child.pid });
    this.#opts.onReady?.({ pid: child.pid, restart });
    child.exited.then((e) => this.#onExit(child, e));
  }

  /** #stopRequested tells whether stop() has been called (read through a method: TypeScript would narrow a field across awaits). */
  #stopRequested(): boolean {
    return this.#state === "stopping" || this.#state === "stopped";
  }

  #onExit(child: ChildProcess, e: { code: number | null; signal: string | null }): void {
    if (child !== this.#child || this.#state === "stopping" || this.#state === "stopped") return;
    const { log } = this.#opts;
    if (this.#clock.now() - this.#startedAt > this.#t.restartStableMs) this.#backoff = this.#t.restartBackoffInitialMs;
    const delay = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, this.#t.restartBackoffMaxMs);
    this.#state = "restarting";
    log.error("nats-server exited unexpectedly; restarting", {
      pid: child.pid, code: e.code ?? undefined, signal: e.signal ?? undefined, retry_in_ms: delay, last: this.#tail.at(-1),
    });
    void this.#restartAfter(delay);
  }

  async #restartAfter(delay: number): Promise<void> {
    const abort = new AbortController();
    this.#restartTimer = abort;
    try {
      await this.#clock.sleep(delay, abort.signal);
    } catch {
      return; // stop() cancelled the restart
    }
    if (this.#state !== "restarting") return;
    this.#restarts++;
    try {
      await this.#spawnAndWait(true);
    } catch (err) {
      if (this.#state !== "restarting") return;
      const next = this.#backoff;
      this.#backoff = Math.min(this.#backoff * 2, this.#t.restartBackoffMaxMs);
      this.#opts.log.error("nats-server restart failed", { error: (err as Error).message.split("\n")[0], retry_in_ms: next });
      void this.#restartAfter(next);
    }
  }

  /**
   * reload sends SIGHUP (after the caller rewrote the config file) and waits
   * for nats-server to say whether it applied the new configuration.
   */
  async reload(): Promise<ReloadResult> {
    const child = this.#child;
    if (!child || this.#state !== "ready") return { ok: false, message: `nats-server is not running (${this.#state})` };
    let waiter: ((msg: string) => void) | undefined;
    const gaveUp = new AbortController();
    const outcome = new Promise<ReloadResult>((resolve) => {
      waiter = (msg: string) => {
        if (/Reloaded server configuration/i.test(msg)) resolve({ ok: true, message: msg });
        else if (/(Failed to reload|reload not supported|Error reloading)/i.test(msg)) resolve({ ok: false, message: msg });
      };
      this.#lineWaiters.add(waiter);
      this.#clock.sleep(this.#t.reloadReportMs, gaveUp.signal).then(() => resolve({ ok: false, message: "nats-server did not confirm the reload" }), () => {});
    });
    child.kill("SIGHUP");
    try {
      return await outcome;
    } finally {
      gaveUp.abort(); // never keep the process alive for a timer nobody waits on
      if (waiter) this.#lineWaiters.delete(waiter);
    }
  }

  /**
   * stop ends the child gracefully: lame duck when configured, otherwise
   * SIGTERM; SIGKILL after the grace time or when `force` is set. Idempotent.
   */
  stop(options: { force?: boolean } = {}): Promise<void> {
    const child = this.#child;
    if (options.force && child) child.kill("SIGKILL");
    if (this.#stopping) return this.#stopping;
    this.#state = "stopping";
    this.#restartTimer?.abort();
    this.#stopping = (async () => {
      if (child) {
        const lameDuck = this.#opts.lameDuckMs;
        let ended = false;
        void child.exited.then(() => { ended = true; });
        if (!lameDuck && this.#opts.handOverLeaders && !options.force) await this.#handOverLeaders(child);
        if (!ended) child.kill(lameDuck ? "SIGUSR2" : "SIGTERM");
        const waitMs = (lameDuck ?? 0) + this.#t.stopGraceMs;
        const grace = new AbortController();
        const timedOut = await Promise.race([
          child.exited.then(() => false),
          this.#clock.sleep(waitMs, grace.signal).then(() => true, () => false),
        ]);
        grace.abort(); // never keep the process alive for a timer nobody waits on
        if (timedOut) {
          this.#opts.log.warn("nats-server did not stop in time; killing it", { pid: child.pid, waited_ms: waitMs });
          child.kill("SIGKILL");
          await child.exited;
        }
      }
      this.#state = "stopped";
    })();
    return this.#stopping;
  }

  /**
   * #handOverLeaders puts nats-server in lame-duck mode, which steps every
   * RAFT leader it holds down (a current follower takes over at once), waits
   * a second and shuts JetStream down; it resolves once nats says so, the
   * child exits, or after leaderHandoverMs.
   */
  async #handOverLeaders(child: ChildProcess): Promise<void> {
    let waiter: ((msg: string) => void) | undefined;
    const gaveUp = new AbortController();
    const t0 = this.#clock.now();
    const done = new Promise<string>((resolve) => {
      waiter = (msg: string) => { if (/^JetStream Shutdown/.test(msg)) resolve("jetstream shut down"); };
      this.#lineWaiters.add(waiter);
      void child.exited.then(() => resolve("exited"));
      this.#clock.sleep(this.#t.leaderHandoverMs, gaveUp.signal).then(() => resolve("timed out"), () => {});
    });
    child.kill("SIGUSR2");
    try {
      const how = await done;
      this.#opts.log.info("handed this node's JetStream leaderships to the other members before stopping", { how, ms: this.#clock.now() - t0 });
    } finally {
      gaveUp.abort();
      if (waiter) this.#lineWaiters.delete(waiter);
    }
  }

  /** Symbol.asyncDispose lets tests write `await using supervisor = …`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * childEnv is the environment nats-server gets: its rendered config holds
 * every setting, so it needs none of unibus's variables — least of all the
 * secrets that can arrive by env (UNIBUS_CLUSTER_SECRET, password_env, …).
 * Only PATH, locale, time zone and Go runtime knobs (GOMAXPROCS, GOMEMLIMIT) pass.
 */
export function childEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && (/^(PATH|LANG|LC_[A-Z]+|TZ)$/.test(key) || /^GO[A-Z]+$/.test(key))) out[key] = value;
  }
  return out;
}
