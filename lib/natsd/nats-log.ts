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

/** parseNatsLogLine reads `[pid] [INF] text` (with or without a timestamp); other text is info. */
export function parseNatsLogLine(line: string): NatsLogLine {
  const m = /^\[\d+\]\s+(?:\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d+\s+)?\[(\w{3})\]\s?(.*)$/.exec(line);
  const level = m ? (LEVELS[m[1]!] ?? "info") : "info";
  const msg = m ? m[2]! : line;
  return { level: level === "info" && DECORATION.test(msg) ? "debug" : level, msg };
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
