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
import { writeAccessReplicaState, type AccessReplicaState } from "./replica-state.ts";

/** STATE_REFRESH_MS bounds how often a difference that lasts is written down (lastHeard). */
const STATE_REFRESH_MS = 10_000;

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
  #found: AccessReplicaState = { differing: [], users: 0 };

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
    this.#record({ disconnectedSince: new Date().toISOString(), error: "connecting to the system account", differing: [] });
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
      for await (const s of nc.status()) {
        if (s.type === "reconnect") {
          this.#record({ disconnectedSince: undefined, error: undefined });
          this.#announce(true);
        } else if (s.type === "disconnect" && !this.#found.disconnectedSince) {
          this.#record({ disconnectedSince: new Date().toISOString(), error: "disconnected from nats-server" });
        }
      }
    })().catch(() => {});
    this.#record({ disconnectedSince: undefined, error: undefined });
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
    this.#record({});
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

  /** #record merges a change into the state record and writes it (errors are logged once per message, never fatal). */
  #record(change: Partial<AccessReplicaState>): void {
    const next: AccessReplicaState = { ...this.#found, ...change, users: this.#o.ledger.active().length };
    for (const k of ["disconnectedSince", "error"] as const) if (next[k] === undefined) delete next[k];
    this.#found = next;
    try {
      writeAccessReplicaState(this.#o.config().node.dataDir, next);
    } catch (err) {
      this.#o.log.warn("cannot record the state of the cluster's users for unibus status", { error: (err as Error).message });
    }
  }

  /** #noteDigest keeps the list of members whose copy differs from this one. */
  #noteDigest(node: string, same: boolean): void {
    const now = new Date();
    const have = this.#found.differing.find((d) => d.node === node);
    if (same) {
      if (have) this.#record({ differing: this.#found.differing.filter((d) => d.node !== node) });
      return;
    }
    if (!have) return this.#record({ differing: [...this.#found.differing, { node, since: now.toISOString(), lastHeard: now.toISOString() }] });
    if (now.getTime() - Date.parse(have.lastHeard) >= STATE_REFRESH_MS) {
      this.#record({ differing: this.#found.differing.map((d) => (d.node === node ? { ...d, lastHeard: now.toISOString() } : d)) });
    }
  }

  #digest(body: unknown): void {
    const b = (body ?? {}) as { node?: unknown; digest?: unknown };
    if (b.node === this.#self) return;
    if (typeof b.node === "string") this.#noteDigest(b.node, b.digest === this.#o.ledger.digest());
    if (b.digest === this.#o.ledger.digest()) return;
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
