/**
 * log-view.ts makes the log readable on the admin page: each line (JSON
 * under systemd, key=value on a terminal) becomes time, level, message and
 * its other fields, newest first, so the page shows what just happened at
 * the top instead of raw JSON from the oldest line down.
 */
import type { LogLine } from "./log-ring.ts";

/** LogEntry is one parsed log line. */
export interface LogEntry {
  /** HH:MM:SS (UTC) of the line, or "" when the line had no time. */
  time: string;
  level: string;
  message: string;
  /** The other fields, in order (component=nats, pid=…). */
  fields: [string, string][];
}

function clock(iso: unknown): string {
  return typeof iso === "string" && /^\d{4}-\d{2}-\d{2}T(\d{2}:\d{2}:\d{2})/.test(iso) ? iso.slice(11, 19) : "";
}

/** parseLogfmt reads `key=value key="quoted value"` pairs. */
function parseLogfmt(text: string): [string, string][] | undefined {
  const pairs: [string, string][] = [];
  const re = /([\w.-]+)=("(?:[^"\\]|\\.)*"|\S*)\s*/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    let value = m[2]!;
    if (value.startsWith('"')) {
      try { value = JSON.parse(value) as string; } catch { /* keep as written */ }
    }
    pairs.push([m[1]!, value]);
    if (re.lastIndex >= text.length) break;
  }
  return pairs.length && re.lastIndex >= text.length ? pairs : undefined;
}

/** parseLogLine turns one log line into an entry; a line in neither format is shown whole as the message. */
export function parseLogLine(line: LogLine): LogEntry {
  const text = line.text.trim();
  if (text.startsWith("{")) {
    try {
      const record = JSON.parse(text) as Record<string, unknown>;
      const { time, level, msg, ...rest } = record;
      return { time: clock(time), level: String(level ?? line.level), message: String(msg ?? ""), fields: Object.entries(rest).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]) };
    } catch { /* not JSON after all */ }
  }
  const pairs = parseLogfmt(text);
  if (pairs) {
    const get = (k: string) => pairs.find(([key]) => key === k)?.[1];
    return { time: clock(get("time")), level: get("level") ?? line.level, message: get("msg") ?? "", fields: pairs.filter(([k]) => !["time", "level", "msg"].includes(k)) };
  }
  return { time: "", level: line.level, message: text, fields: [] };
}

/** logEntries parses the ring's lines (oldest first) into entries, newest first. */
export function logEntries(lines: LogLine[]): LogEntry[] {
  return lines.map(parseLogLine).reverse();
}
