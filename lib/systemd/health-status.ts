/**
 * health-status.ts keeps systemd's STATUS= line (what `systemctl status
 * unibus` shows under "Status:") in step with the node's health verdict.
 * READY=1 only says nats-server accepts clients; a one-member cluster or a
 * lost quorum is still "ready" to systemd, so the line carries the verdict
 * that `unibus status` would print, and changes when the verdict changes.
 */

/** HEALTH_STATUS_INTERVAL_MS is how often the verdict is checked (ms); the local monitoring port is cheap to ask. */
export const HEALTH_STATUS_INTERVAL_MS = 10_000;

/** HealthStatusOptions wire the reporter: how to get the verdict line, and where STATUS= goes. */
export interface HealthStatusOptions {
  /** The one-line verdict, e.g. "HEALTHY: node a is healthy; no problems" (lib/diagnosis/problem.ts verdictLine). */
  verdict: () => Promise<string>;
  /** Sends "STATUS=…" to systemd (lib/systemd/notify.ts); false when not under systemd. */
  send: (status: string) => void;
  intervalMs?: number;
  /** Reports a failed check (the line keeps its last value). */
  onError?: (err: unknown) => void;
}

/**
 * HealthStatusReporter checks the verdict every interval and sends STATUS=
 * when the text changes. `base` is what the node last said about itself
 * ("nats-server ready on …", "running the previous configuration: …").
 */
export class HealthStatusReporter {
  readonly #o: HealthStatusOptions;
  #base = "";
  #verdict = "";
  #sent = "";
  #timer: ReturnType<typeof setInterval> | undefined;
  #checking = false;

  constructor(o: HealthStatusOptions) {
    this.#o = o;
  }

  /** text is the STATUS= text: the base, then the verdict once known. */
  get text(): string {
    return [this.#base, this.#verdict].filter(Boolean).join("; health: ");
  }

  /** setBase records what the node said at ready or reload (already sent by the caller) and resends with the verdict. */
  setBase(base: string): void {
    this.#base = base;
    this.#sent = base;
    this.#flush();
  }

  /** check asks for the verdict once (skipped while one is running) and sends STATUS= if the text changed. */
  async check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      this.#verdict = (await this.#o.verdict()).replace(/[\r\n]+/g, " ");
      this.#flush();
    } catch (err) {
      this.#o.onError?.(err);
    } finally {
      this.#checking = false;
    }
  }

  /** start checks now and then every interval; the timer does not keep the process alive. */
  start(): void {
    if (this.#timer) return;
    void this.check();
    this.#timer = setInterval(() => void this.check(), this.#o.intervalMs ?? HEALTH_STATUS_INTERVAL_MS);
    this.#timer.unref?.();
  }

  /** stop ends the checks (a check in flight still sends its line). */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #flush(): void {
    const text = this.text;
    if (text === this.#sent) return;
    this.#sent = text;
    this.#o.send(text);
  }
}
