/**
 * monitor.ts reads nats-server's loopback monitoring endpoints. It is the
 * only way unibus learns the child's state: readiness, routes, JetStream.
 */

/** MonitorClient fetches JSON from one nats-server's monitoring port. */
export class MonitorClient {
  readonly baseUrl: string;
  readonly timeoutMs: number;

  /**
   * healthQuery narrows what healthy() asks: a clustered node is "up" once its
   * server and JetStream run ("js-enabled-only=true"), before a meta leader
   * exists; otherwise one box of three could never start on its own.
   */
  readonly healthQuery: string;

  constructor(listenText: string, timeoutMs = 2_000, healthQuery = "") {
    this.baseUrl = `http://${listenText}`;
    this.timeoutMs = timeoutMs;
    this.healthQuery = healthQuery;
  }

  /** healthy asks /healthz, which nats answers 200 only when JetStream is ready too; `query` overrides healthQuery. */
  async healthy(query = this.healthQuery): Promise<{ ok: boolean; detail: string }> {
    try {
      const res = await fetch(`${this.baseUrl}/healthz${query ? `?${query}` : ""}`, { signal: AbortSignal.timeout(this.timeoutMs) });
      const body = await res.text();
      return { ok: res.status === 200, detail: body.trim() };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }

  /** get returns a monitoring document such as varz, routez, jsz, connz. */
  async get<T = Record<string, unknown>>(endpoint: string, query = ""): Promise<T> {
    const res = await fetch(`${this.baseUrl}/${endpoint}${query ? `?${query}` : ""}`, { signal: AbortSignal.timeout(this.timeoutMs) });
    if (!res.ok) throw new Error(`nats monitoring /${endpoint} answered HTTP ${res.status}`);
    return (await res.json()) as T;
  }
}
