/**
 * forward-watch.ts keeps an edge's store-and-forward stream in place while
 * the edge runs: it creates UNIBUS_FORWARD (or brings its subjects in line
 * with the config) as soon as JetStream answers, then records how many
 * messages it holds in `<data_dir>/forward.json` every few seconds, for
 * `unibus status`.
 */
import { readFileSync } from "node:fs";
import type { NatsConnection } from "@nats-io/transport-node";
import type { UnibusConfig } from "../config/load.ts";
import { dataDirLayout } from "../data-dir.ts";
import { writeFileAtomic } from "../fsutil.ts";
import type { Logger } from "../log.ts";
import { PeriodicTask } from "../periodic-task.ts";
import { FLEET_STALE_MS } from "./fleet-watch.ts";
import { FORWARD_STREAM, ensureForwardStream } from "./store-and-forward.ts";

/** ForwardState is what an edge's store and forward looked like at one moment. */
export interface ForwardState { at: string; stream: string; subjects: string[]; messages?: number; error?: string }

/** readForwardState reads the last state an edge wrote; undefined when missing or stale. */
export function readForwardState(dataDir: string, now = Date.now()): ForwardState | undefined {
  try {
    const s = JSON.parse(readFileSync(dataDirLayout(dataDir).forward, "utf8")) as ForwardState;
    return now - Date.parse(s.at) > FLEET_STALE_MS ? undefined : s;
  } catch {
    return undefined;
  }
}

/** ForwardWatch runs on an edge with store_and_forward; start() and stop() bracket it. */
export class ForwardWatch {
  readonly #config: () => UnibusConfig;
  readonly #connect: () => Promise<NatsConnection>;
  readonly #log: Logger;
  #nc?: NatsConnection;
  readonly #task = new PeriodicTask({ run: () => this.round(), intervalMs: 5_000 });
  #ready = false;

  constructor(config: () => UnibusConfig, connect: () => Promise<NatsConnection>, log: Logger) {
    this.#config = config;
    this.#connect = connect;
    this.#log = log;
  }

  start(): void {
    this.#task.start();
  }

  async stop(): Promise<void> {
    const stopping = this.#task.stop();
    // Closed first, so a round in flight fails at once instead of waiting out its request.
    await this.#nc?.close().catch(() => {});
    await stopping;
    await this.#nc?.close().catch(() => {}); // that round may have connected again
  }

  /** round ensures the stream and records its size. */
  async round(): Promise<ForwardState> {
    const config = this.#config();
    const subjects = config.leafnodes?.storeAndForward ?? [];
    let state: ForwardState;
    try {
      if (!this.#nc || this.#nc.isClosed()) this.#nc = await this.#connect();
      const messages = await ensureForwardStream(this.#nc, subjects);
      if (!this.#ready) this.#log.info("store and forward ready", { stream: FORWARD_STREAM, subjects: subjects.join(","), messages });
      this.#ready = true;
      state = { at: new Date().toISOString(), stream: FORWARD_STREAM, subjects, messages };
    } catch (err) {
      await this.#nc?.close().catch(() => {});
      this.#nc = undefined;
      state = { at: new Date().toISOString(), stream: FORWARD_STREAM, subjects, error: (err as Error).message };
      this.#log.debug("store and forward not ready yet", { error: state.error });
    }
    try {
      writeFileAtomic(dataDirLayout(config.node.dataDir).forward, JSON.stringify(state, null, 2) + "\n", 0o600);
    } catch { /* status then says nothing about it */ }
    return state;
  }
}
