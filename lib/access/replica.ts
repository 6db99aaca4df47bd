/**
 * replica.ts keeps a member's copy of the cluster's users in step with the
 * other members over nats-server's system account, which only unibus's own
 * node keys and the operators of [[system_account]] can reach. A change
 * (`unibus user add` on any member) is one request that every member's
 * replica merges, saves and acknowledges; the command counts the answers and
 * needs a majority. Members that missed it (down, cut off) catch up by
 * anti-entropy: every replica announces a digest of its copy every few
 * seconds, and one that hears a different digest publishes its whole copy,
 * which everybody merges (last writer wins per user, so the order of merges
 * does not matter). Reads never need anyone: nats-server renders the local
 * copy.
 */
import { connect, nkeyAuthenticator, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { UnibusConfig } from "../config/sections.ts";
import type { Logger } from "../log.ts";
import { systemEndpoint } from "../natsd/system-client.ts";
import type { SystemCredential } from "../natsd/system-credential.ts";
import type { AccessLedger } from "./ledger.ts";

/** ACCESS_SUBJECTS are the system-account subjects the replicas and `unibus user` speak on. */
export const ACCESS_SUBJECTS = {
  /** Request: { entries } to merge; every replica answers { ok, node, digest }. */
  write: "unibus.access.write",
  /** Request: every replica answers { node, digest, latest, users }. */
  ping: "unibus.access.ping",
  /** Publish: { node, entries }, a whole copy, merged by everybody. */
  state: "unibus.access.state",
  /** Publish: { node, digest }; a replica holding another digest answers with its state. */
  digest: "unibus.access.digest",
} as const;

/** DIGEST_INTERVAL_MS is how often a replica announces its digest: the bound on catching up after a partition heals. */
export const DIGEST_INTERVAL_MS = 5_000;

/** AccessReplicaOptions connect a replica to its node. */
export interface AccessReplicaOptions {
  ledger: AccessLedger;
  config: () => UnibusConfig;
  credential: SystemCredential;
  log: Logger;
  /** Called (not awaited) after the copy changed and was saved: re-render nats-server and reload. */
  onChange: (names: string[], from: string) => void;
}

/** AccessReplica is one member's part in keeping the cluster's users; start() and stop() bracket it. */
export class AccessReplica {
  readonly #o: AccessReplicaOptions;
  #nc?: NatsConnection;
  #subs: Subscription[] = [];
  #timer?: ReturnType<typeof setInterval>;
  #stopped = false;
  #lastStatePublished = 0;

  constructor(options: AccessReplicaOptions) {
    this.#o = options;
  }

  get #self(): string {
    return this.#o.config().node.name;
  }

  /**
   * start connects to the node's own system account (retrying until
   * nats-server answers) and serves the subjects; it resolves once the first
   * connection is up or stop() was called.
   */
  async start(): Promise<void> {
    const config = this.#o.config();
    const endpoint = systemEndpoint(config);
    const nc = await connect({
      servers: endpoint.hostPort,
      name: "unibus-access",
      authenticator: nkeyAuthenticator(new TextEncoder().encode(this.#o.credential.seed)),
      ...(endpoint.caFile ? { tls: { caFile: endpoint.caFile } } : {}),
      waitOnFirstConnect: true,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
    });
    if (this.#stopped) {
      await nc.close();
      return;
    }
    this.#nc = nc;
    this.#subs = [
      nc.subscribe(ACCESS_SUBJECTS.write, { callback: (err, msg) => { if (!err) msg.respond(JSON.stringify(this.#write(msg.json()))); } }),
      nc.subscribe(ACCESS_SUBJECTS.ping, { callback: (err, msg) => { if (!err) msg.respond(JSON.stringify(this.#ping())); } }),
      nc.subscribe(ACCESS_SUBJECTS.state, { callback: (err, msg) => { if (!err) this.#state(msg.json()); } }),
      nc.subscribe(ACCESS_SUBJECTS.digest, { callback: (err, msg) => { if (!err) this.#digest(msg.json()); } }),
    ];
    void (async () => {
      for await (const s of nc.status()) if (s.type === "reconnect") this.#announce(true);
    })().catch(() => {});
    this.#announce(true);
    this.#timer = setInterval(() => this.#announce(false), DIGEST_INTERVAL_MS);
    this.#timer.unref?.();
  }

  /** #announce publishes this copy's digest, and with `full` the copy itself (after a (re)connect). */
  #announce(full: boolean): void {
    const nc = this.#nc;
    if (!nc || nc.isClosed()) return;
    try {
      if (full) this.#publishState();
      nc.publish(ACCESS_SUBJECTS.digest, JSON.stringify({ node: this.#self, digest: this.#o.ledger.digest() }));
    } catch {
      // disconnected: the next tick or the reconnect tries again
    }
  }

  #publishState(): void {
    this.#lastStatePublished = Date.now();
    this.#nc?.publish(ACCESS_SUBJECTS.state, JSON.stringify({ node: this.#self, entries: this.#o.ledger.all() }));
  }

  #apply(entries: unknown, from: string): string[] {
    if (!Array.isArray(entries)) return [];
    const changed = this.#o.ledger.merge(entries);
    if (changed.length === 0) return changed;
    this.#o.ledger.save();
    this.#o.onChange(changed, from);
    return changed;
  }

  #write(body: unknown): Record<string, unknown> {
    const b = (body ?? {}) as { entries?: unknown; by?: unknown };
    try {
      this.#apply(b.entries, typeof b.by === "string" ? b.by : "unibus user");
      return { ok: true, node: this.#self, digest: this.#o.ledger.digest() };
    } catch (err) {
      this.#o.log.error("could not save a change to the cluster's users", { file: this.#o.ledger.file, error: (err as Error).message });
      return { ok: false, node: this.#self, error: (err as Error).message };
    }
  }

  #ping(): Record<string, unknown> {
    const ledger = this.#o.ledger;
    return { node: this.#self, digest: ledger.digest(), latest: ledger.latest(), users: ledger.active().length };
  }

  #state(body: unknown): void {
    const b = (body ?? {}) as { node?: unknown; entries?: unknown };
    if (b.node === this.#self) return;
    try {
      this.#apply(b.entries, typeof b.node === "string" ? b.node : "?");
    } catch (err) {
      this.#o.log.error("could not save the cluster's users received from a member", { file: this.#o.ledger.file, error: (err as Error).message });
    }
  }

  #digest(body: unknown): void {
    const b = (body ?? {}) as { node?: unknown; digest?: unknown };
    if (b.node === this.#self || b.digest === this.#o.ledger.digest()) return;
    // Several members may answer one digest; at most one copy a second from each is plenty.
    if (Date.now() - this.#lastStatePublished < 1_000) return;
    try {
      this.#publishState();
    } catch {
      // disconnected
    }
  }

  /** stop ends the connection; idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    const nc = this.#nc;
    this.#nc = undefined;
    for (const s of this.#subs) s.unsubscribe();
    this.#subs = [];
    await nc?.close().catch(() => {});
  }
}
