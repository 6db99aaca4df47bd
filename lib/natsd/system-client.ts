/**
 * system-client.ts is how unibus code talks to nats-server's system account:
 * `$SYS.REQ.SERVER.PING.VARZ`, `$SYS.REQ.SERVER.<id>.JSZ`,
 * `$JS.API.SERVER.REMOVE` and the like, over nats.js on the node's own client
 * port (loopback when it listens on every interface), signed with the
 * node-local nkey of system-credential.ts and verified against the cluster
 * CA when the client port speaks TLS.
 *
 *   await using sys = await SystemClient.connect(config);
 *   const varz = await sys.request("$SYS.REQ.SERVER.PING.VARZ");
 *   const all = await sys.requestAll("$SYS.REQ.SERVER.PING", {}, { expected: 3 });
 */
import { connect, nkeyAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import type { UnibusConfig } from "../config/load.ts";
import { isWildcard, joinHostPort } from "../config/units.ts";
import { RuntimeError } from "../errors.ts";
import { activeTrustFile } from "../pki/index.ts";
import { loadSystemCredential, type SystemCredential } from "./system-credential.ts";

/** SystemEndpoint is where and how to reach the system account of a node. */
export interface SystemEndpoint {
  /** host:port of the node's client port as seen from this host (IPv6 in brackets). */
  hostPort: string;
  /** The cluster CA file, when the client port requires TLS. */
  caFile?: string;
}

/** systemEndpoint picks the address a local tool dials: loopback for a wildcard listener. */
export function systemEndpoint(config: UnibusConfig): SystemEndpoint {
  const { host, port } = config.client.listen;
  const local = isWildcard(host) ? (host.includes(":") ? "::1" : "127.0.0.1") : host;
  const hostPort = joinHostPort(local, port);
  return { hostPort, ...(config.tls?.clientTls ? { caFile: activeTrustFile(config.node.dataDir, config.tls.caCert) } : {}) };
}

/** RequestOptions bound one request. */
export interface RequestOptions {
  /** Milliseconds to wait for the answer (or, for requestAll, for all answers). */
  timeoutMs?: number;
}

/** SystemClient is one connection into the system account. */
export class SystemClient {
  readonly #nc: NatsConnection;

  private constructor(nc: NatsConnection) {
    this.#nc = nc;
  }

  /**
   * connect signs in to the node described by config with its own
   * credential (read from the data dir unless given).
   */
  static async connect(config: UnibusConfig, options: { credential?: SystemCredential; name?: string; timeoutMs?: number; /** Keep reconnecting (a long-lived responder); requests then may wait out a reconnect. */ lasting?: boolean } = {}): Promise<SystemClient> {
    const credential = options.credential ?? loadSystemCredential(config.node.dataDir);
    const endpoint = systemEndpoint(config);
    try {
      const nc = await connect({
        servers: endpoint.hostPort,
        name: options.name ?? "unibus-system",
        authenticator: nkeyAuthenticator(new TextEncoder().encode(credential.seed)),
        ...(endpoint.caFile ? { tls: { caFile: endpoint.caFile } } : {}),
        timeout: options.timeoutMs ?? 5_000,
        // The answers are the point: never let a reconnect buffer a request (unless the client is meant to last).
        ...(options.lasting ? { reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 1_000 } : { reconnect: false, maxReconnectAttempts: 0 }),
      });
      return new SystemClient(nc);
    } catch (err) {
      throw new RuntimeError(`cannot reach the system account of node ${config.node.name} at ${endpoint.hostPort}: ${(err as Error).message}; is unibus running with ${config.file}?`);
    }
  }

  /** request sends one request and returns the decoded JSON answer of the first responder. */
  async request<T = unknown>(subject: string, payload: unknown = "", options: RequestOptions = {}): Promise<T> {
    const body = typeof payload === "string" ? payload : JSON.stringify(payload);
    try {
      const msg = await this.#nc.request(subject, body, { timeout: options.timeoutMs ?? 5_000 });
      return msg.json<T>();
    } catch (err) {
      throw new RuntimeError(`${subject}: ${(err as Error).message}`);
    }
  }

  /**
   * requestAll collects every answer to a request several servers answer
   * (`$SYS.REQ.SERVER.PING…`): it returns once `expected` answers arrived, or
   * after timeoutMs with what came.
   */
  async requestAll<T = unknown>(subject: string, payload: unknown = "", options: RequestOptions & { expected?: number } = {}): Promise<T[]> {
    const body = typeof payload === "string" ? payload : JSON.stringify(payload);
    const out: T[] = [];
    const answers = await this.#nc.requestMany(subject, body, {
      strategy: "timer",
      maxWait: options.timeoutMs ?? 2_000,
      ...(options.expected ? { maxMessages: options.expected, strategy: "count" as const } : {}),
    });
    try {
      for await (const msg of answers) out.push(msg.json<T>());
    } catch (err) {
      if (out.length === 0) throw new RuntimeError(`${subject}: ${(err as Error).message}`);
    }
    return out;
  }

  /**
   * serve answers every request on subject with what `answer` returns
   * (JSON); an answer that throws is not sent, so the asker counts it as
   * missing. It returns a function that stops serving.
   */
  serve(subject: string, answer: (payload: string) => unknown | Promise<unknown>): () => void {
    const sub = this.#nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        void Promise.resolve().then(() => answer(msg.string())).then((a) => msg.respond(JSON.stringify(a)), () => {});
      },
    });
    return () => sub.unsubscribe();
  }

  /** isClosed tells whether the connection has ended (nats-server restarted, or close was called). */
  isClosed(): boolean {
    return this.#nc.isClosed();
  }

  /** close ends the connection. */
  async close(): Promise<void> {
    await this.#nc.close();
  }

  /** Symbol.asyncDispose lets callers write `await using sys = …`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
