/**
 * replica-keeper.ts keeps MQTT's streams at the replica count the cluster
 * should give them. nats-server sizes them once, when the first MQTT client
 * of an account connects, and never again: streams made while the cluster
 * had one member (README's join path), or by an older unibus (2 replicas
 * with `init cluster` listing every node), stay there, and one node down
 * then takes every MQTT device offline. On the JetStream meta leader only (one
 * writer for the cluster), every interval and after the members list
 * changed, it reads each `$MQTT_*` stream and raises the ones below
 * min(3, cluster size) with a stream update, which nats answers once enough
 * members are up to place the new replicas; until then it tries again.
 *
 * MQTT's streams live in the account MQTT devices sign in to (CLIENT_ACCOUNT,
 * nats's global account, where unibus puts every client user); the system
 * account cannot call another account's JetStream API. So it connects the
 * way backup does (lib/backup/connect.ts): on the node's own client port,
 * with the node's JetStream nkey where a users table is rendered, as an
 * anonymous client where nats admits those into that account by itself.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { connectJetstream } from "../backup/connect.ts";
import type { UnibusConfig } from "../config/load.ts";
import { mqttStreamReplicas } from "../config/section-edge.ts";
import type { Logger } from "../log.ts";
import type { MonitorClient } from "../natsd/monitor.ts";
import type { Jsz } from "../natsd/monitoring-types.ts";
import { PeriodicTask } from "../periodic-task.ts";
import { MQTT_STREAM_NAMES, REPLICA_CHECK_MS, type MqttStreamName } from "./streams.ts";


/** ApiError is a JetStream API error answer. */
interface ApiError { code: number; err_code?: number; description?: string }
/** StreamAnswer is what `$JS.API.STREAM.INFO` and `.UPDATE` answer (the fields used here). */
interface StreamAnswer { error?: ApiError; config?: Record<string, unknown> & { num_replicas?: number } }

/** RaiseOutcome is what one check did with one stream. */
export interface RaiseOutcome {
  stream: MqttStreamName;
  /** Replicas before, and the count wanted. */
  from: number;
  to: number;
  /** True when nats took the update; otherwise error says why (tried again later). */
  raised: boolean;
  error?: string;
}

/** ReplicaKeeperOptions connect the keeper to its node. */
export interface ReplicaKeeperOptions {
  /** The node's config with the members list folded in (the cluster size as known now). */
  config: () => UnibusConfig;
  monitor: MonitorClient;
  log: Logger;
  intervalMs?: number;
}

/** MqttReplicaKeeper raises MQTT's streams to the cluster's replica count; start() and stop() bracket it. */
export class MqttReplicaKeeper {
  readonly #o: ReplicaKeeperOptions;
  readonly #task: PeriodicTask;
  /** The last error logged per stream, so a wait for members is logged once, not every interval. */
  readonly #lastError = new Map<string, string>();

  constructor(options: ReplicaKeeperOptions) {
    this.#o = options;
    this.#task = new PeriodicTask({
      run: () => this.checkNow(),
      intervalMs: options.intervalMs ?? REPLICA_CHECK_MS,
      onError: (err) => this.#o.log.debug("MQTT replica check failed; trying again", { error: err.message }),
    });
  }

  start(): void {
    this.#task.start();
  }

  async stop(): Promise<void> {
    await this.#task.stop();
  }

  /** checkSoon runs a check now (the members list changed), or right after the one running. */
  checkSoon(): void {
    this.#task.runSoon();
  }

  /**
   * checkNow looks at MQTT's streams once, on the meta leader, and raises
   * those below the target; it returns what it did (empty on other nodes,
   * without [mqtt], or when every stream is at its count).
   */
  async checkNow(): Promise<RaiseOutcome[]> {
    const config = this.#o.config();
    const target = mqttStreamReplicas(config);
    if (!config.mqtt || !target || target < 2) return [];
    const jsz = await this.#o.monitor.get<Jsz>("jsz");
    if (jsz.meta_cluster?.leader !== config.node.name) return [];
    const nc = await connectJetstream(config, "unibus-mqtt-replicas");
    const out: RaiseOutcome[] = [];
    try {
      for (const stream of MQTT_STREAM_NAMES) {
        const info = await request(nc, `$JS.API.STREAM.INFO.${stream}`, "");
        if (info.error || !info.config) continue; // not made yet (no MQTT client so far), or offline: status names that
        const from = info.config.num_replicas ?? 1;
        if (from >= target) continue;
        const updated = await request(nc, `$JS.API.STREAM.UPDATE.${stream}`, JSON.stringify({ ...info.config, num_replicas: target }));
        const error = updated.error ? `${updated.error.description ?? "error"} (${updated.error.err_code ?? updated.error.code})` : undefined;
        out.push({ stream, from, to: target, raised: !error, ...(error ? { error } : {}) });
        if (!error) {
          this.#lastError.delete(stream);
          this.#o.log.info("raised an MQTT stream's replicas to the cluster's count, so MQTT devices survive a node down", { stream, from, to: target });
        } else if (this.#lastError.get(stream) !== error) {
          this.#lastError.set(stream, error);
          this.#o.log.warn("cannot raise an MQTT stream's replicas yet; trying again as members come up", { stream, from, to: target, error });
        }
      }
    } finally {
      await nc.close().catch(() => {});
    }
    return out;
  }
}

async function request(nc: NatsConnection, subject: string, body: string): Promise<StreamAnswer> {
  const msg = await nc.request(subject, body, { timeout: 5_000 });
  return msg.json<StreamAnswer>();
}
