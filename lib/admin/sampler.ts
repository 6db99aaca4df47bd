/**
 * sampler.ts turns nats-server's cumulative message counters into rates: it
 * reads /varz every few seconds into a ring buffer, and the admin page draws
 * the last minutes of msgs/s and bytes/s from it.
 */
import type { Varz } from "../natsd/monitoring-types.ts";

/** RatePoint is the traffic between two samples, per second. */
export interface RatePoint {
  /** End of the interval (ms since the epoch). */
  t: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
}

/** SAMPLER_DEFAULTS: a sample every 5 s, 10 minutes of history. */
const SAMPLER_DEFAULTS = { intervalMs: 5_000, capacity: 120 } as const;

type Counters = Pick<Varz, "in_msgs" | "out_msgs" | "in_bytes" | "out_bytes">;

/** RateSampler polls a counter source and keeps the last `capacity` rate points. */
export class RateSampler {
  readonly #read: () => Promise<Counters>;
  readonly #intervalMs: number;
  readonly #capacity: number;
  readonly #points: RatePoint[] = [];
  #last?: { t: number; c: Counters };
  #timer?: ReturnType<typeof setInterval>;
  #error?: string;

  constructor(read: () => Promise<Counters>, options: { intervalMs?: number; capacity?: number } = {}) {
    this.#read = read;
    this.#intervalMs = options.intervalMs ?? SAMPLER_DEFAULTS.intervalMs;
    this.#capacity = options.capacity ?? SAMPLER_DEFAULTS.capacity;
  }

  /** intervalMs is the time between samples. */
  get intervalMs(): number { return this.#intervalMs; }
  /** error is why the last sample failed, if it did. */
  get error(): string | undefined { return this.#error; }

  /** start takes a first sample now and then one every interval. */
  start(): void {
    if (this.#timer) return;
    void this.sample();
    this.#timer = setInterval(() => void this.sample(), this.#intervalMs);
    this.#timer.unref?.();
  }

  /** stop ends the polling; idempotent. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** sample reads the counters once and records the rate since the previous read. */
  async sample(now = Date.now()): Promise<void> {
    let c: Counters;
    try {
      c = await this.#read();
      this.#error = undefined;
    } catch (err) {
      this.#error = (err as Error).message;
      this.#last = undefined; // do not draw a rate across a gap
      return;
    }
    this.record(c, now);
  }

  /** record adds one reading; a counter that went down (nats restarted) starts a new series. */
  record(c: Counters, now: number): void {
    const last = this.#last;
    this.#last = { t: now, c };
    if (!last || now <= last.t) return;
    const dt = (now - last.t) / 1000;
    const d = (k: keyof Counters) => c[k] - last.c[k];
    if (d("in_msgs") < 0 || d("out_msgs") < 0 || d("in_bytes") < 0 || d("out_bytes") < 0) return;
    this.#points.push({ t: now, inMsgs: d("in_msgs") / dt, outMsgs: d("out_msgs") / dt, inBytes: d("in_bytes") / dt, outBytes: d("out_bytes") / dt });
    if (this.#points.length > this.#capacity) this.#points.shift();
  }

  /** points returns the recorded rates, oldest first. */
  points(): RatePoint[] {
    return [...this.#points];
  }
}
