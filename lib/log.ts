import { fstatSync } from "node:fs";
/** LogLevel orders the levels a user can choose with `[log] level`. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** LogFormat is the rendering of a log line: text for people, json for journald and collectors. */
export type LogFormat = "text" | "json";

/** LOG_LEVELS lists the levels from most to least verbose; the schema and the logger share it. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** LogFields are the key=value pairs attached to one line. */
export type LogFields = Record<string, string | number | boolean | undefined | null>;

/** LogSink receives finished lines; tests inject one to capture output. */
export type LogSink = (line: string, level: LogLevel) => void;

const REDACTED = "[redacted]";

/**
 * SYSLOG_PRIORITY maps a level to its syslog(3) priority, which journald reads
 * from a `<N>` prefix on each line of a service's output stream.
 */
export const SYSLOG_PRIORITY: Readonly<Record<LogLevel, number>> = { debug: 7, info: 6, warn: 4, error: 3 };

/**
 * stderrIsJournal tells whether standard error is connected to journald:
 * systemd sets JOURNAL_STREAM to the stream's "device:inode", and the check
 * against fd 2 keeps a redirected stderr (`unibus … 2>file`) free of prefixes.
 */
export function stderrIsJournal(env: Record<string, string | undefined> = process.env): boolean {
  const stream = env.JOURNAL_STREAM;
  if (!stream) return false;
  try {
    const st = fstatSync(2);
    return stream === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}

let journalPrefixes: boolean | undefined;

/**
 * stderrSink writes each line to standard error, the stream systemd and
 * terminals both read. Under journald each line carries its level as a
 * `<N>` prefix, so `journalctl -p err` shows unibus's errors.
 */
export const stderrSink: LogSink = (line, level) => {
  journalPrefixes ??= stderrIsJournal();
  process.stderr.write(journalPrefixes ? `<${SYSLOG_PRIORITY[level]}>${line}\n` : `${line}\n`);
};

/**
 * Logger is the one way unibus writes diagnostics. Lower modules report state;
 * the edges (commands, supervisor) log it. Every line passes through the
 * redactor, so a registered secret cannot reach the log even by mistake.
 */
export class Logger {
  /** Level and format, shared with child loggers so configure() on a reload reaches them all. */
  #settings: { level: number; format: LogFormat };
  /** Shared with child loggers, so a sink added later (the admin page's ring) sees every line. */
  #sinks: LogSink[];
  #secrets: Set<string>;
  #fields: LogFields;

  constructor(options: { level?: LogLevel; format?: LogFormat; sink?: LogSink; fields?: LogFields; secrets?: Set<string>; sinks?: LogSink[] } = {}) {
    this.#settings = { level: LOG_LEVELS.indexOf(options.level ?? "info"), format: options.format ?? "text" };
    this.#sinks = options.sinks ?? [options.sink ?? stderrSink];
    this.#secrets = options.secrets ?? new Set();
    this.#fields = options.fields ?? {};
  }

  /** configure changes level and format once the config file has been read. */
  configure(options: { level?: LogLevel; format?: LogFormat }): void {
    if (options.level) this.#settings.level = LOG_LEVELS.indexOf(options.level);
    if (options.format) this.#settings.format = options.format;
  }

  /** addSecret registers a value that must never be printed; lines containing it are redacted. */
  addSecret(secret: string | undefined): void {
    if (!secret || secret.length < 4) return;
    // Also as it appears inside JSON, HTML and URLs, so an escaped copy cannot slip past.
    const html = secret.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
    for (const form of [secret, JSON.stringify(secret).slice(1, -1), html, encodeURIComponent(secret)]) this.#secrets.add(form);
  }

  /**
   * addSink sends every later line (of this logger and all its children) to
   * one more sink, already redacted; the returned function removes it again.
   */
  addSink(sink: LogSink): () => void {
    this.#sinks.push(sink);
    return () => {
      const i = this.#sinks.indexOf(sink);
      if (i >= 0) this.#sinks.splice(i, 1);
    };
  }

  /** child returns a logger that adds fixed fields (e.g. component=nats) and shares sink and secrets. */
  child(fields: LogFields): Logger {
    const child = new Logger({ sinks: this.#sinks, secrets: this.#secrets, fields: { ...this.#fields, ...fields } });
    child.#settings = this.#settings;
    return child;
  }

  /** enabled tells whether a level would be written, to skip costly formatting. */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.#settings.level;
  }

  debug(msg: string, fields?: LogFields): void { this.write("debug", msg, fields); }
  info(msg: string, fields?: LogFields): void { this.write("info", msg, fields); }
  warn(msg: string, fields?: LogFields): void { this.write("warn", msg, fields); }
  error(msg: string, fields?: LogFields): void { this.write("error", msg, fields); }

  /** write formats and emits one line at the given level. */
  write(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const all: LogFields = { ...this.#fields, ...fields };
    const time = new Date().toISOString();
    let line: string;
    if (this.#settings.format === "json") {
      const record: Record<string, unknown> = { time, level, msg };
      for (const [k, v] of Object.entries(all)) if (v !== undefined) record[k] = v;
      line = JSON.stringify(record);
    } else {
      let text = `time=${time} level=${level} msg=${quote(msg)}`;
      for (const [k, v] of Object.entries(all)) if (v !== undefined) text += ` ${k}=${quote(String(v))}`;
      line = text;
    }
    const redacted = this.redact(line);
    for (const sink of this.#sinks) sink(redacted, level);
  }

  /** redact replaces every registered secret in a string. */
  redact(text: string): string {
    for (const secret of this.#secrets) {
      if (text.includes(secret)) text = text.split(secret).join(REDACTED);
    }
    return text;
  }
}

function quote(value: string): string {
  return /^[\w.:/@+\-,[\]]+$/.test(value) ? value : JSON.stringify(value);
}

/**
 * chooseLogFormat picks text on a terminal and JSON lines under systemd
 * (journald sets JOURNAL_STREAM) when the user did not choose.
 */
export function chooseLogFormat(requested: LogFormat | "auto", env: Record<string, string | undefined>, isTTY: boolean): LogFormat {
  if (requested !== "auto") return requested;
  if (!isTTY && (env.JOURNAL_STREAM || env.INVOCATION_ID)) return "json";
  return "text";
}
