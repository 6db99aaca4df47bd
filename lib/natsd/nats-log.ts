/**
 * nats-log.ts understands nats-server's log lines so they can be relayed
 * through unibus's logger at the right level.
 */
import type { LogLevel } from "../log.ts";

const LEVELS: Record<string, LogLevel> = { DBG: "debug", TRC: "debug", INF: "info", WRN: "warn", ERR: "error", FTL: "error" };

/** NatsLogLine is one parsed line of nats-server output. */
export interface NatsLogLine { level: LogLevel; msg: string }

/**
 * DECORATION matches nats-server's start-up banner (the JetStream ASCII art,
 * its link, blank and rule lines): kept at debug so a journal stays readable.
 */
const DECORATION = /^(\s*|[\s_|\\/()<>.-]+|\s*https:\/\/docs\.nats\.io\/jetstream\s*|-+\s*JETSTREAM\s*-+)$/;

/**
 * DELIBERATE matches warnings about choices unibus made on purpose: nats-server
 * warns about plaintext passwords, and the only ones unibus renders are edge
 * secrets, which it gives nats-server as they are (lib/config/_edge-sign-in.ts
 * says why). Kept at debug so an operator is not told to undo a decision.
 */
const DELIBERATE = /^Plaintext passwords detected, use nkeys or bcrypt$/;

/** parseNatsLogLine reads `[pid] [INF] text` (with or without a timestamp); other text is info. */
export function parseNatsLogLine(line: string): NatsLogLine {
  const m = /^\[\d+\]\s+(?:\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d+\s+)?\[(\w{3})\]\s?(.*)$/.exec(line);
  const level = m ? (LEVELS[m[1]!] ?? "info") : "info";
  const msg = m ? m[2]! : line;
  const quiet = (level === "info" && DECORATION.test(msg)) || (level === "warn" && DELIBERATE.test(msg));
  return { level: quiet ? "debug" : level, msg };
}

/** readLines calls `onLine` for every line of a byte stream until it ends. */
export async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl).replace(/\r$/, "");
      buffered = buffered.slice(nl + 1);
      if (line) onLine(line);
    }
  }
  if (buffered) onLine(buffered);
}

/** REPEAT_WINDOW_MS: an identical warning or error is logged once per window, then as one line with its count. */
export const REPEAT_WINDOW_MS = 60_000;

/** repeatKey is a line without what changes between repeats: connection ports and ids, attempt counters. */
export function repeatKey(msg: string): string {
  return msg
    .replace(/^(\[[0-9a-fA-F:.]+\]|[^\s]+?):\d+ - (rid|lid|cid|gid|wid|mid):\d+ - /, "$1 - $2 - ")
    .replace(/\(attempt \d+\)/g, "(attempt N)");
}

/**
 * RepeatFolder keeps nats-server's retry loops (a refused route every second,
 * a leaf that cannot verify its hub) from filling the journal: the first
 * warning or error of a kind (or route/leaf connection line) passes, repeats within REPEAT_WINDOW_MS are held
 * back and counted, and the next one after the window passes as one line
 * saying how often it happened and since when.
 */
export class RepeatFolder {
  readonly #seen = new Map<string, { loggedAt: number; held: number; since: number }>();
  readonly #windowMs: number;

  constructor(windowMs = REPEAT_WINDOW_MS) {
    this.#windowMs = windowMs;
  }

  /** fold returns the line to log (possibly with a count), or undefined to hold it back. */
  fold(level: LogLevel, msg: string, now = Date.now()): NatsLogLine | undefined {
    // Warnings and errors, and the route/leaf connection churn around them ("connection created/closed" every second).
    const churn = level === "info" && /^(\[[0-9a-fA-F:.]+\]|\S+?):\d+ - (rid|lid):\d+ - /.test(msg);
    if (level !== "warn" && level !== "error" && !churn) return { level, msg };
    const key = repeatKey(msg);
    const seen = this.#seen.get(key);
    if (!seen || now - seen.loggedAt >= this.#windowMs) {
      if (this.#seen.size > 256) this.#seen.clear();
      this.#seen.set(key, { loggedAt: now, held: 0, since: now });
      if (seen?.held) return { level, msg: `${msg} (repeated ${seen.held + 1} times since ${new Date(seen.since).toISOString().slice(11, 19)} UTC; unibus status shows the cause)` };
      return { level, msg };
    }
    seen.held++;
    return undefined;
  }
}
