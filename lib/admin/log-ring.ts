/**
 * log-ring.ts keeps the last lines of the node's log in memory for the admin
 * page. Lines arrive already redacted by the Logger; they are redacted again
 * when read, so a secret registered later (the admin token printed once at
 * its creation) never reaches the page either.
 */
import type { LogLevel, LogSink } from "../log.ts";

/** LogLine is one remembered log line. */
export interface LogLine { level: LogLevel; text: string }

/** LOG_RING_LINES is how many lines the admin page can show. */
const LOG_RING_LINES = 200;

/** LogRing is a fixed-size ring of log lines, fed as a Logger sink. */
export class LogRing {
  readonly #lines: (LogLine | undefined)[];
  readonly #redact: (text: string) => string;
  #next = 0;
  #count = 0;

  constructor(capacity = LOG_RING_LINES, redact: (text: string) => string = (t) => t) {
    this.#lines = new Array(capacity);
    this.#redact = redact;
  }

  /** sink is the LogSink to hand to Logger.addSink. */
  readonly sink: LogSink = (text, level) => {
    this.#lines[this.#next] = { level, text };
    this.#next = (this.#next + 1) % this.#lines.length;
    this.#count = Math.min(this.#count + 1, this.#lines.length);
  };

  /** lines returns the last `n` lines, oldest first, redacted. */
  lines(n = this.#lines.length): LogLine[] {
    const take = Math.min(n, this.#count);
    const out: LogLine[] = [];
    for (let i = take; i > 0; i--) {
      const line = this.#lines[(this.#next - i + this.#lines.length) % this.#lines.length]!;
      out.push({ level: line.level, text: this.#redact(line.text) });
    }
    return out;
  }
}
