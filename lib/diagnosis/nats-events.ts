/**
 * nats-events.ts keeps what nats-server says about failing connections: it
 * recognises the log lines that name a cause (a cluster name that does not
 * match, a duplicate server name, an untrusted certificate, a refused secret,
 * a leaf uplink that cannot connect), folds repeats of the same line into one
 * entry with a count and a "last seen", and shares the book through a small
 * file in the data dir so `unibus status` (another process) reads the same
 * causes the admin page shows.
 */
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../fsutil.ts";

/** NatsEventKind is the cause a nats log line names. */
export type NatsEventKind =
  | "cluster_name_mismatch"
  | "duplicate_node_name"
  | "route_tls_untrusted"
  | "route_tls_rejected"
  | "route_tls_other"
  | "route_auth_failed"
  | "route_connect_failed"
  | "leaf_tls_untrusted"
  | "leaf_auth_failed"
  | "leaf_connect_failed"
  | "mqtt_topic_refused"
  // Not failures: when a gateway or leaf link came up or went down, for "connected since" / "down since" (gateway-links.ts).
  | "link_up"
  | "link_closed";

/** NatsEvent is one kind of failure as nats-server reported it, repeats folded in. */
export interface NatsEvent {
  kind: NatsEventKind;
  /** The line without its connection prefix; the key repeats are folded under. */
  text: string;
  /** Facts read from the line, e.g. `remote` and `local` cluster names, `name`, `url`. */
  detail: Record<string, string>;
  /** Connection addresses the line was seen with (ip:port), newest last, a few at most. */
  addresses: string[];
  count: number;
  firstSeen: number;
  lastSeen: number;
}

/** ClassifiedLine is what one nats log line says, when it names a cause. */
export interface ClassifiedLine { kind: NatsEventKind; text: string; detail: Record<string, string>; address?: string }

/** CONN_PREFIX matches nats-server's `ip:port - rid:7 - ` connection prefix (also `[v6]:port`, `lid:`, `cid:`). */
const CONN_PREFIX = /^(\[[0-9a-fA-F:.]+\]:\d+|[^\s]+:\d+) - (rid|lid|cid|gid|wid|mid):\d+ - (?:"([^"]*)" - )?/;

const RULES: { re: RegExp; kind: (m: RegExpExecArray, conn?: string) => NatsEventKind | undefined; detail?: (m: RegExpExecArray) => Record<string, string> }[] = [
  { re: /Rejecting connection, cluster name "([^"]*)" does not match "([^"]*)"/, kind: () => "cluster_name_mismatch", detail: (m) => ({ remote: m[1]!, local: m[2]! }) },
  { re: /Router connection closed: Cluster Name Conflict/, kind: () => "cluster_name_mismatch" },
  { re: /Remote server has a duplicate name: "([^"]*)"/, kind: () => "duplicate_node_name", detail: (m) => ({ name: m[1]! }) },
  { re: /Router connection closed: Duplicate Server Name/, kind: () => "duplicate_node_name" },
  { re: /TLS route handshake error: (.*)$/, kind: (m) => tlsKind("route", m[1]!), detail: (m) => ({ error: m[1]! }) },
  { re: /TLS leafnode handshake error: (.*)$/, kind: (m) => (/unknown authority/.test(m[1]!) ? "leaf_tls_untrusted" : "leaf_connect_failed"), detail: (m) => ({ error: m[1]! }) },
  { re: /Error trying to connect as leafnode to remote server "([^"]*)" \(attempt \d+\): (.*)$/, kind: (m) => leafConnectKind(m[2]!), detail: (m) => ({ url: m[1]!, error: m[2]! }) },
  // The side that checks the secret says "authentication error" and closes with "Authentication Failure"…
  // (with nkey users configured it names the key that was refused: a hub matches it to a removed edge)
  { re: /^authentication error(?: - Nkey "(U[A-Z2-7]+)")?|connection closed: Authentication Failure/, kind: (_m, conn) => (conn === "rid" ? "route_auth_failed" : conn === "lid" ? "leaf_auth_failed" : undefined), detail: (m): Record<string, string> => ({ side: "accepting", ...(m[1] ? { nkey: m[1] } : {}) }) },
  // …the side that dialed hears "Authorization Violation" back.
  { re: /Authorization Violation|Authorization Error/i, kind: (_m, conn) => (conn === "rid" ? "route_auth_failed" : conn === "lid" ? "leaf_auth_failed" : undefined), detail: () => ({ side: "dialing" }) },
  // An MQTT topic nats cannot map to a subject (server/mqtt.go mqttToNATSSubjectConversion): a subscribe names the
  // topic, a publish does not; either way nats closes the device's connection. The client id comes from the prefix.
  { re: /^(?:invalid topic "((?:[^"\\]|\\.)*)": )?character not supported for MQTT topics/, kind: (_m, conn) => (conn === "mid" ? "mqtt_topic_refused" : undefined), detail: (m): Record<string, string> => (m[1] !== undefined ? { topic: m[1] } : {}) },
  // Gateway and leaf links coming and going (nats says both at info level); the server id and reason vary, the remote names the link.
  { re: /^(Outbound|Inbound) gateway connection (?:to|from) "([^"]*)"/, kind: () => "link_up", detail: (m) => ({ via: "gateway", remote: m[2]! }) },
  { re: /^Leafnode connection created/, kind: () => "link_up", detail: () => ({ via: "leaf" }) },
  { re: /^(Gateway|Leafnode) connection closed: (.*?)(?: - Remote: (.*))?$/, kind: () => "link_closed", detail: (m): Record<string, string> => ({ via: m[1] === "Gateway" ? "gateway" : "leaf", reason: m[2]!, ...(m[3] ? { remote: m[3] } : {}) }) },
  { re: /Error trying to connect to route(?: \(attempt \d+\))?: (.*)$/, kind: (m) => (/unknown authority/.test(m[1]!) ? "route_tls_untrusted" : "route_connect_failed"), detail: (m) => ({ error: m[1]! }) },
];

function tlsKind(_side: "route", error: string): NatsEventKind {
  if (/unknown authority/.test(error)) return "route_tls_untrusted";
  if (/bad certificate|certificate required|unknown certificate/.test(error)) return "route_tls_rejected";
  return "route_tls_other";
}

function leafConnectKind(error: string): NatsEventKind {
  if (/unknown authority/.test(error)) return "leaf_tls_untrusted";
  if (/[Aa]uthoriz|[Aa]uthentic/.test(error)) return "leaf_auth_failed";
  return "leaf_connect_failed";
}

/** classifyNatsLine recognises a nats log message that names a cause; undefined for everything else. */
export function classifyNatsLine(msg: string): ClassifiedLine | undefined {
  const prefix = CONN_PREFIX.exec(msg);
  const body = prefix ? msg.slice(prefix[0].length) : msg;
  for (const rule of RULES) {
    const m = rule.re.exec(body);
    if (!m) continue;
    const kind = rule.kind(m, prefix?.[2]);
    if (!kind) continue;
    // Attempt counters and ports differ on every repeat; the text that folds repeats must not.
    let text = body.replace(/\(attempt \d+\)/, "(attempt N)");
    const detail = rule.detail?.(m) ?? {};
    // One entry per link and direction: the remote server's id changes at every restart.
    // A hub's edges come and go too: their leaf closes fold into one entry per reason, so they never crowd causes out of the book.
    if (kind === "link_up") text = detail.via === "gateway" ? `${m[1]} gateway connection "${detail.remote}" registered` : "Leafnode connection created";
    if (kind === "link_closed" && detail.via === "leaf") text = `Leafnode connection closed: ${detail.reason}`;
    // Each MQTT client is its own event: the fix is per device.
    if (kind === "mqtt_topic_refused" && prefix?.[3] !== undefined) {
      detail.client = prefix[3];
      text = `"${prefix[3]}" - ${text}`;
    }
    return { kind, text, detail, ...(prefix ? { address: prefix[1] } : {}) };
  }
  return undefined;
}

/** MAX_ADDRESSES bounds the addresses kept per event. */
const MAX_ADDRESSES = 6;
/** MAX_EVENTS bounds the book: a flood of distinct lines must not grow memory. */
const MAX_EVENTS = 64;

/**
 * NatsEventBook counts the causes nats-server names. Each distinct text is
 * one entry; a line seen again raises its count and moves its "last seen".
 */
export class NatsEventBook {
  readonly #events = new Map<string, NatsEvent>();
  readonly #file?: string;
  readonly #pid: number;
  #dirty = false;
  #timer?: ReturnType<typeof setInterval>;

  constructor(options: { file?: string; pid?: number } = {}) {
    if (options.file) this.#file = options.file;
    this.#pid = options.pid ?? process.pid;
  }

  /** observe classifies one nats log message and records it when it names a cause; returns what it found. */
  observe(msg: string, at = Date.now()): ClassifiedLine | undefined {
    const c = classifyNatsLine(msg);
    if (!c) return undefined;
    const key = `${c.kind}\u0000${c.text}`;
    let e = this.#events.get(key);
    if (!e) {
      if (this.#events.size >= MAX_EVENTS) this.#dropOldest();
      e = { kind: c.kind, text: c.text, detail: c.detail, addresses: [], count: 0, firstSeen: at, lastSeen: at };
      this.#events.set(key, e);
    }
    e.count++;
    e.lastSeen = at;
    if (Object.keys(c.detail).length) e.detail = c.detail;
    if (c.address) {
      e.addresses = e.addresses.filter((a) => a !== c.address);
      e.addresses.push(c.address);
      if (e.addresses.length > MAX_ADDRESSES) e.addresses.shift();
    }
    this.#dirty = true;
    return c;
  }

  #dropOldest(): void {
    let oldest: [string, NatsEvent] | undefined;
    for (const entry of this.#events) if (!oldest || entry[1].lastSeen < oldest[1].lastSeen) oldest = entry;
    if (oldest) this.#events.delete(oldest[0]);
  }

  /** events lists the entries seen within `withinMs` of `now` (all when omitted). */
  events(now = Date.now(), withinMs = Infinity): NatsEvent[] {
    return [...this.#events.values()].filter((e) => now - e.lastSeen <= withinMs).map((e) => ({ ...e, addresses: [...e.addresses], detail: { ...e.detail } }));
  }

  /** clear forgets everything, e.g. when nats-server restarts with a new config. */
  clear(): void {
    this.#events.clear();
    this.#dirty = true;
  }

  /** flush writes the book to its file (0600) when it changed since the last write. */
  flush(): void {
    if (!this.#file || !this.#dirty) return;
    this.#dirty = false;
    const doc: NatsEventsFile = { pid: this.#pid, writtenAt: Date.now(), events: this.events() };
    try {
      writeFileAtomic(this.#file, JSON.stringify(doc), 0o600);
    } catch {
      this.#dirty = true; // the data dir is momentarily unwritable: try again on the next tick
    }
  }

  /** start flushes every `everyMs` while the node runs. */
  start(everyMs = 1_000): void {
    this.stop();
    this.#timer = setInterval(() => this.flush(), everyMs);
    this.#timer.unref?.();
  }

  /** stop ends the flushing (after one last flush). */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.flush();
  }
}

/** NatsEventsFile is the shape of `<data_dir>/nats-events.json`. */
export interface NatsEventsFile { pid: number; writtenAt: number; events: NatsEvent[] }


/** readNatsEvents reads the book a running node keeps; empty when there is none (node stopped, or never failed). */
export function readNatsEvents(file: string): NatsEvent[] {
  try {
    const doc = JSON.parse(readFileSync(file, "utf8")) as NatsEventsFile;
    return Array.isArray(doc.events) ? doc.events : [];
  } catch {
    return [];
  }
}
