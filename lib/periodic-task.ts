/**
 * periodic-task.ts is the one life cycle of a node's background loops (the
 * membership check-in, the fleet watch, an edge's store-and-forward watch,
 * the MQTT replica keeper): run at once, then again an interval after each
 * run ends, never two runs at a time, and a stop that leaves nothing running.
 * Each loop used to hand-write its own timer, stopped flag and guard, with
 * small differences (a "run now" that could start a second run beside the
 * one in flight, a stop that did not wait for it); written once, the rules
 * hold for all of them and have their own unit test.
 */

/** TimerApi lets unit tests drive a PeriodicTask with fake time; REAL_TIMERS is the default. */
export interface TimerApi {
  /** set calls fn once after ms milliseconds and returns a handle for clear. */
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** REAL_TIMERS are setTimeout and clearTimeout; unref'd, so a waiting loop never keeps the process alive. */
export const REAL_TIMERS: TimerApi = {
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    (t as { unref?: () => void }).unref?.();
    return t;
  },
  clear(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** PeriodicTaskOptions say what a PeriodicTask runs and how often. */
export interface PeriodicTaskOptions {
  /** One run of the work; what it resolves to is ignored. */
  run: () => Promise<unknown>;
  /** Milliseconds from the end of one run to the start of the next; a function is asked after every run. */
  intervalMs: number | (() => number);
  /** Called with what a run threw or rejected with; the loop goes on. Default: nothing. */
  onError?: (err: Error) => void;
  timers?: TimerApi;
}

/**
 * PeriodicTask runs its work at once on start(), then intervalMs after each
 * run ends, until stop(). At most one run is in flight: runSoon() during a
 * run asks for one more run as soon as it ends (any number of calls make one
 * run). stop() is idempotent and resolves once the run in flight (if any)
 * ended; no run starts after it. start() after stop() begins again.
 */
export class PeriodicTask {
  readonly #o: PeriodicTaskOptions;
  readonly #timers: TimerApi;
  #timer: unknown;
  #running?: Promise<void>;
  #stopped = true;
  #again = false;

  constructor(options: PeriodicTaskOptions) {
    this.#o = options;
    this.#timers = options.timers ?? REAL_TIMERS;
  }

  /** running is true while a run is in flight. */
  get running(): boolean { return this.#running !== undefined; }

  /** start runs the work at once (or right after a run still in flight); a no-op when started already. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    if (this.#running) this.#again = true;
    else this.#schedule(0);
  }

  /** runSoon runs the work now, or right after the run in flight; ignored when stopped. */
  runSoon(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#schedule(0);
  }

  /** stop cancels the next run and resolves when the run in flight (if any) ended; it never rejects. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#again = false;
    this.#clearTimer();
    await this.#running;
  }

  /** Symbol.asyncDispose lets tests write `await using task = …`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    this.#timers.clear(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    this.#clearTimer();
    this.#timer = this.#timers.set(() => {
      this.#timer = undefined;
      void this.#fire();
    }, ms);
  }

  async #fire(): Promise<void> {
    if (this.#stopped || this.#running) return;
    this.#again = false;
    const run = (async () => {
      try {
        await this.#o.run();
      } catch (err) {
        this.#o.onError?.(err instanceof Error ? err : new Error(String(err)));
      }
    })();
    this.#running = run;
    await run;
    this.#running = undefined;
    if (this.#stopped) return;
    const interval = this.#o.intervalMs;
    this.#schedule(this.#again ? 0 : typeof interval === "function" ? interval() : interval);
    this.#again = false;
  }
}
