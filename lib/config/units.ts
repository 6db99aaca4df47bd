/**
 * units.ts parses the human-friendly values of the config file: sizes,
 * durations and listen addresses. Each parser returns a value or a message
 * saying what was expected, so the schema can report it at the right line.
 */
import { isIP } from "node:net";

const SIZE_UNITS: Record<string, number> = {
  "": 1, b: 1,
  k: 1024, kb: 1000, kib: 1024,
  m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1000 ** 4, tib: 1024 ** 4,
};

/** SIZE_HINT is the expectation printed for a bad size. */
export const SIZE_HINT = 'a size like "256MiB", "8GiB", "512MB" or a whole number of bytes';

/** parseSize reads "256MiB" (binary), "512MB" (decimal), "1G" (binary) or a byte count. */
export function parseSize(value: unknown): number | string {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value > 0 ? value : `${SIZE_HINT}, got ${value}`;
  }
  if (typeof value !== "string") return `${SIZE_HINT}, got ${typeof value}`;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return `${SIZE_HINT}, got ${JSON.stringify(value)}`;
  const bytes = Math.round(Number(m[1]) * unit);
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : `${SIZE_HINT} greater than zero, got ${JSON.stringify(value)}`;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** DURATION_HINT is the expectation printed for a bad duration. */
export const DURATION_HINT = 'a duration like "500ms", "30s", "2m" or "1h"';

/** parseDuration reads "30s", "2m", "1h30m", "500ms" into milliseconds. */
export function parseDuration(value: unknown): number | string {
  if (typeof value !== "string") return `${DURATION_HINT}, got ${typeof value}`;
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== value.trim()) return `${DURATION_HINT}, got ${JSON.stringify(value)}`;
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS[p[2]!]!, 0));
}

/** HostPort is a parsed `host:port`; `text` is the canonical form nats-server accepts. */
export interface HostPort { host: string; port: number; text: string }

/** LISTEN_HINT is the expectation printed for a bad listen address. */
export const LISTEN_HINT = 'an IP address and port like "127.0.0.1:4222", "0.0.0.0:4222" or "[::1]:4222"';

/** parseListen reads a bind address: an IP literal (IPv6 in brackets) and a port 1-65535. */
export function parseListen(value: unknown): HostPort | string {
  const parsed = splitHostPort(value, LISTEN_HINT);
  if (typeof parsed === "string") return parsed;
  if (!isIP(parsed.host)) return `${LISTEN_HINT}; "${parsed.host}" is not an IP address`;
  return parsed;
}

/** PEER_HINT is the expectation printed for a bad peer address. */
export const PEER_HINT = 'a host and port like "10.0.0.11:6222" or "pi-1.lan:6222"';

/** parsePeer reads a peer's address: an IP literal or a DNS name, and a port. */
export function parsePeer(value: unknown): HostPort | string {
  const parsed = splitHostPort(value, PEER_HINT);
  if (typeof parsed === "string") return parsed;
  if (!isIP(parsed.host) && !/^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/.test(parsed.host)) {
    return `${PEER_HINT}; "${parsed.host}" is neither an IP address nor a host name`;
  }
  return parsed;
}

function splitHostPort(value: unknown, hint: string): HostPort | string {
  if (typeof value !== "string") return `${hint}, got ${typeof value}`;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value.trim());
  if (!m) return `${hint}, got ${JSON.stringify(value)}`;
  const host = (m[1] ?? m[2])!;
  if (m[1] !== undefined && isIP(host) !== 6) return `${hint}; only IPv6 addresses go in brackets, got ${JSON.stringify(value)}`;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `${hint}; port must be 1-65535, got ${port}`;
  return { host, port, text: joinHostPort(host, port) };
}

/** joinHostPort writes host and port the way URLs and nats-server read them: IPv6 addresses in brackets. */
export function joinHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** canonicalIp returns the canonical text of an IP address (IPv6 compressed, lower case), or undefined when text is not one. */
export function canonicalIp(text: string): string | undefined {
  const kind = isIP(text);
  if (kind === 4) return text;
  if (kind === 6) return new URL(`http://${joinHostPort(text, 1)}/`).hostname.slice(1, -1);
  return undefined;
}

/**
 * withDefaultPort adds `port` to an address written without one
 * ("10.0.0.11", "pi-1.lan", "fd00::1", "[fd00::1]") and keeps one that has
 * a port ("10.0.0.11:6223", "[fd00::1]:6223"), bracketing an IPv6 address.
 */
export function withDefaultPort(address: string, port: number): string {
  if (/^\[.*\]:\d+$/.test(address) || /^[^:]*:\d+$/.test(address)) return address;
  const host = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  return joinHostPort(host, port);
}

/** isLoopback tells whether a bind host only accepts local connections. */
export function isLoopback(host: string): boolean {
  return host === "::1" || host === "localhost" || /^127\./.test(host);
}

/** isWildcard tells whether a bind host listens on every interface. */
export function isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::";
}

/** NODE_NAME_HINT explains which node names nats-server and JetStream accept. */
export const NODE_NAME_HINT = "1-64 letters, digits, '-' or '_' (nats uses the server name in JetStream subjects, so no spaces, dots or wildcards)";

/** isValidNodeName tells whether nats-server and JetStream accept a server_name. */
export function isValidNodeName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(name);
}

/** nodeNameFromHost derives a default node name from a host name. */
export function nodeNameFromHost(hostname: string): string {
  const short = hostname.split(".")[0] ?? "";
  const clean = short.replace(/[^A-Za-z0-9_-]/g, "-").replace(/^[-_]+/, "").slice(0, 64);
  return clean || "unibus";
}
