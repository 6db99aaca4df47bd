/**
 * cluster-health.ts is the running node's part in judging the whole
 * cluster: it answers HEALTH_SUBJECT in the system account with this node's
 * own verdict, and asks every member (askCluster) at most once per
 * CLUSTER_TTL_MS for theirs and for the stream leaders' replica views. One
 * long-lived system-account connection does both; nats.js reconnects it and
 * renews the subscription when nats-server restarts.
 */
import type { SystemClient } from "../natsd/system-client.ts";
import { askCluster, HEALTH_SUBJECT, type ClusterFacts, type MemberVerdict } from "./cluster-facts.ts";

/** CLUSTER_TTL_MS is how long one round of answers is reused (ms): the page refreshes every few seconds. */
export const CLUSTER_TTL_MS = 2_000;

/** ClusterHealthOptions wire the node's answers and questions. */
export interface ClusterHealthOptions {
  /** Opens a lasting connection to the node's system account. */
  connect: () => Promise<SystemClient>;
  /** This node's own verdict (its local assessment, without cluster-wide facts). */
  own: () => Promise<MemberVerdict>;
}

/** ClusterHealth answers for this node and asks the others; start() and stop() bracket it. */
export class ClusterHealth {
  readonly #o: ClusterHealthOptions;
  #client?: SystemClient;
  #stopServing?: () => void;
  #stopped = false;
  #connecting?: Promise<void>;
  #last?: { at: number; facts: Promise<ClusterFacts> };

  constructor(o: ClusterHealthOptions) {
    this.#o = o;
  }

  /** start connects and serves in the background (retrying every 2 s until nats-server answers); it never throws. */
  start(): void {
    this.#connecting ??= this.#connect();
  }

  async #connect(): Promise<void> {
    while (!this.#stopped) {
      try {
        const client = await this.#o.connect();
        if (this.#stopped) {
          await client.close().catch(() => {});
          return;
        }
        this.#client = client;
        this.#stopServing = client.serve(HEALTH_SUBJECT, () => this.#o.own());
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 2_000));
      }
    }
  }

  /**
   * facts is the latest round of answers, at most CLUSTER_TTL_MS old;
   * `expected` members should answer (this node included), `members` name
   * the servers nats knows only by peer id. Without a connection it says why.
   */
  facts(expected: number, members: readonly string[]): Promise<ClusterFacts> {
    if (this.#last && Date.now() - this.#last.at < CLUSTER_TTL_MS) return this.#last.facts;
    const client = this.#client;
    const facts = client && !client.isClosed()
      ? askCluster((subject, payload, o) => client.requestAll(subject, payload, o), expected, members)
      : Promise.resolve({ at: Date.now(), expected, verdicts: [], behind: [], streams: 0, storage: [], answered: [], error: "this node's system-account connection is not up yet" });
    this.#last = { at: Date.now(), facts };
    return facts;
  }

  /** stop ends serving and the connection. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopServing?.();
    await this.#client?.close().catch(() => {});
    this.#client = undefined;
  }
}
