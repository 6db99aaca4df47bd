/**
 * snapshot.ts reads nats-server's loopback monitoring endpoints in one go,
 * for `unibus status`, the diagnosis and the admin page alike. Each endpoint
 * succeeds or fails on its own, and a failure becomes a short sentence for
 * the page, never an exception or a stack trace.
 */
import type { MonitorClient } from "./monitor.ts";
import type { Connz, Gatewayz, Jsz, Leafz, Routez, Varz } from "./monitoring-types.ts";

/** Fetched is one monitoring document, or why it could not be read. */
export type Fetched<T> = { ok: true; data: T } | { ok: false; error: string };

/** Snapshot is everything nats-server told the admin page at one moment. */
export interface Snapshot {
  /** When it was taken (ms since the epoch). */
  at: number;
  /** Full /healthz: every stream and consumer on this node is current. */
  healthz: { ok: boolean; detail: string };
  /** /healthz?js-meta-only=true: JetStream is in contact with, and current with, the meta leader (can take writes). */
  metaHealthz: { ok: boolean; detail: string };
  varz: Fetched<Varz>;
  connz: Fetched<Connz>;
  routez: Fetched<Routez>;
  jsz: Fetched<Jsz>;
  leafz: Fetched<Leafz>;
  /** /gatewayz: the gateway connections to other clusters (absent in snapshots made by hand). */
  gatewayz?: Fetched<Gatewayz>;
  /** The last connections nats-server closed (slow consumers among them), for the connections panel. */
  closedConnz?: Fetched<Connz>;
}

/** CONNZ_QUERY asks for the 25 connections that received the most bytes, with the user each signed in as. */
const CONNZ_QUERY = "sort=bytes_to&limit=25&auth=true";
/** CLOSED_CONNZ_QUERY asks for the last closed connections, to name the slow consumers nats cut off. */
const CLOSED_CONNZ_QUERY = "state=closed&sort=stop&limit=50&auth=true";
/** JSZ_QUERY asks for every stream and consumer with its config and replicas (metrics and the page's consumers). */
const JSZ_QUERY = "accounts=true&streams=true&consumers=true&config=true";

/** describeFetchError turns a failed monitoring request into one plain sentence. */
function describeFetchError(monitor: MonitorClient, endpoint: string, err: unknown): string {
  const e = err as Error & { code?: string; name?: string };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `nats-server did not answer /${endpoint} within ${monitor.timeoutMs} ms`;
  const msg = String(e?.message ?? err).split("\n")[0]!;
  if (/ECONNREFUSED|Unable to connect|connection refused/i.test(msg + (e?.code ?? ""))) return `nats-server monitoring at ${monitor.baseUrl} is not reachable (is nats-server running?)`;
  return `nats-server /${endpoint} could not be read: ${msg}`;
}

async function fetchDoc<T>(monitor: MonitorClient, endpoint: string, query = ""): Promise<Fetched<T>> {
  try {
    return { ok: true, data: await monitor.get<T>(endpoint, query) };
  } catch (err) {
    return { ok: false, error: describeFetchError(monitor, endpoint, err) };
  }
}

/** takeSnapshot reads /healthz (full and meta-only), /varz, /connz (open and closed), /routez, /jsz, /leafz and /gatewayz in parallel. */
export async function takeSnapshot(monitor: MonitorClient): Promise<Snapshot> {
  const [healthz, metaHealthz, varz, connz, routez, jsz, leafz, closedConnz, gatewayz] = await Promise.all([
    monitor.healthy(),
    monitor.healthy("js-meta-only=true"),
    fetchDoc<Varz>(monitor, "varz"),
    fetchDoc<Connz>(monitor, "connz", CONNZ_QUERY),
    fetchDoc<Routez>(monitor, "routez"),
    fetchDoc<Jsz>(monitor, "jsz", JSZ_QUERY),
    fetchDoc<Leafz>(monitor, "leafz"),
    fetchDoc<Connz>(monitor, "connz", CLOSED_CONNZ_QUERY),
    fetchDoc<Gatewayz>(monitor, "gatewayz"),
  ]);
  const health = healthz.ok ? healthz : { ok: false, detail: varz.ok ? healthDetail(healthz.detail) : varz.error };
  const meta = metaHealthz.ok ? metaHealthz : { ok: false, detail: varz.ok ? healthDetail(metaHealthz.detail) : varz.error };
  return { at: Date.now(), healthz: health, metaHealthz: meta, varz, connz, routez, jsz, leafz, closedConnz, gatewayz };
}

function healthDetail(body: string): string {
  try {
    const doc = JSON.parse(body) as { error?: string; status?: string };
    return doc.error ?? doc.status ?? body;
  } catch {
    return body.split("\n")[0] ?? body;
  }
}

/**
 * SnapshotCache shares one snapshot between the requests of one moment (the
 * page, its refresh and a Prometheus scrape), so nats-server is asked at most
 * once per `ttlMs`.
 */
export class SnapshotCache {
  readonly #monitor: MonitorClient;
  readonly #ttlMs: number;
  #pending?: { startedAt: number; snapshot: Promise<Snapshot> };
  #last?: Snapshot;

  constructor(monitor: MonitorClient, ttlMs = 1_000) {
    this.#monitor = monitor;
    this.#ttlMs = ttlMs;
  }

  /**
   * get returns a snapshot no older than maxAgeMs (default the ttl); 0 asks
   * for one begun after the call (`unibus status` right after an edit or a
   * `kill -STOP` must see it), shared with whoever asks meanwhile.
   */
  async get(maxAgeMs = this.#ttlMs): Promise<Snapshot> {
    const now = Date.now();
    if (this.#last && now - this.#last.at < maxAgeMs) return this.#last;
    if (this.#pending && this.#pending.startedAt >= now - maxAgeMs) return this.#pending.snapshot;
    const pending = {
      startedAt: now,
      snapshot: takeSnapshot(this.#monitor).then((s) => {
        if (!this.#last || this.#last.at <= s.at) this.#last = s;
        return s;
      }).finally(() => {
        if (this.#pending === pending) this.#pending = undefined;
      }),
    };
    this.#pending = pending;
    return pending.snapshot;
  }
}
