/**
 * fleet-watch.ts keeps a hub node's view of its fleet fresh: every few
 * seconds it asks every server of the hub cluster for its connections over
 * the system account, matches them against the expected edges and writes
 * the view to `<data_dir>/fleet.json`, which `unibus status`, the page and
 * /metrics read (a view older than FLEET_STALE_MS is not trusted).
 */
import { readFileSync } from "node:fs";
import type { UnibusConfig } from "../config/load.ts";
import { dataDirLayout } from "../data-dir.ts";
import { writeFileAtomic } from "../fsutil.ts";
import type { Logger } from "../log.ts";
import type { EdgeRegistry } from "../membership/edges.ts";
import type { SystemClient } from "../natsd/system-client.ts";
import { PeriodicTask } from "../periodic-task.ts";
import { edgeConnections, expectedEdges, fleetRows, type ConnzAnswer, type FleetView } from "./fleet-view.ts";
import type { FleetStreamState } from "./store-and-forward.ts";
import { EdgeReportInbox } from "./edge-report.ts";
import type { NatsConnection } from "@nats-io/transport-node";

/** FLEET_INTERVAL_MS is how often a hub node looks at its fleet. */
export const FLEET_INTERVAL_MS = 5_000;
/** FLEET_STALE_MS: a view older than this says nothing about now (the node is not running). */
export const FLEET_STALE_MS = 30_000;

/** readFleetView reads the last view a hub node wrote; undefined when missing, garbled or stale. */
export function readFleetView(dataDir: string, now = Date.now()): FleetView | undefined {
  try {
    const view = JSON.parse(readFileSync(dataDirLayout(dataDir).fleet, "utf8")) as FleetView;
    if (!Array.isArray(view.rows) || now - Date.parse(view.at) > FLEET_STALE_MS) return undefined;
    return view;
  } catch {
    return undefined;
  }
}

/** FleetWatchOptions connect the watch to its node. */
export interface FleetWatchOptions {
  config: () => UnibusConfig;
  edges?: EdgeRegistry;
  connect: () => Promise<SystemClient>;
  /** How many servers answer (the hub cluster's size), so a round ends as soon as all did. */
  servers: () => number;
  log: Logger;
  intervalMs?: number;
  /** A connection in the clients' account, where edges report their verdicts (lib/fleet/edge-report.ts); without it rows carry no report. */
  connectClients?: () => Promise<NatsConnection>;
  /** On the hub's JetStream meta leader: keep UNIBUS_FLEET sourcing every forwarding edge (lib/fleet/store-and-forward.ts); undefined elsewhere. */
  storeAndForward?: (edges: string[]) => Promise<FleetStreamState | undefined>;
}

/** FleetWatch polls the fleet while the hub node runs; start() and stop() bracket it. */
export class FleetWatch {
  readonly #o: FleetWatchOptions;
  readonly #task: PeriodicTask;
  #client?: SystemClient;
  #view?: FleetView;
  readonly #inbox?: EdgeReportInbox;

  constructor(options: FleetWatchOptions) {
    this.#o = options;
    if (options.connectClients) {
      // An enrolled edge's report counts only with its signature (the nkey its uplink signs in with).
      const keyOf = (edge: string) => { const e = options.edges?.get(edge); return e && !e.removed ? e.nkey : undefined; };
      this.#inbox = new EdgeReportInbox(options.connectClients, keyOf);
    }
    this.#task = new PeriodicTask({
      run: () => this.round(),
      intervalMs: options.intervalMs ?? FLEET_INTERVAL_MS,
      onError: (err) => this.#o.log.debug("fleet view failed", { error: err.message }),
    });
  }

  /** view is the last view taken. */
  get view(): FleetView | undefined { return this.#view; }

  start(): void {
    this.#task.start();
  }

  async stop(): Promise<void> {
    const stopping = this.#task.stop();
    // Closed first, so a round in flight fails at once instead of waiting out its request.
    await this.#client?.close().catch(() => {});
    await stopping;
    await this.#client?.close().catch(() => {}); // that round may have connected again
    this.#client = undefined;
    await this.#inbox?.close();
  }

  /** round takes one view of the fleet and writes it. */
  async round(): Promise<FleetView> {
    const config = this.#o.config();
    const expected = expectedEdges(config, this.#o.edges?.all() ?? []);
    let view: FleetView;
    // The reports' subscription is kept across rounds; a round without it still lists the fleet.
    await this.#inbox?.ensure().catch((err: Error) => this.#o.log.debug("cannot hear the edges' reports this round", { error: err.message }));
    try {
      if (!this.#client || this.#client.isClosed()) this.#client = await this.#o.connect();
      const answers = await this.#client.requestAll<ConnzAnswer>("$SYS.REQ.SERVER.PING.CONNZ", { auth: true, limit: 4096 }, { expected: this.#o.servers(), timeoutMs: 2_000 });
      view = { at: new Date().toISOString(), hubNodes: answers.map((a) => a.server?.name ?? "?").sort(), rows: fleetRows(expected, edgeConnections(answers), Date.now(), this.#inbox?.reports()) };
      const enrolled = expected.filter((e) => e.via === "enrolled").map((e) => e.name);
      const stream = await this.#o.storeAndForward?.(enrolled).catch((err: Error) => {
        this.#o.log.debug("store and forward on the hub failed this round", { error: err.message });
        return undefined;
      });
      if (stream) view.stream = stream;
    } catch (err) {
      await this.#client?.close().catch(() => {});
      this.#client = undefined;
      view = { at: new Date().toISOString(), hubNodes: [], rows: [], error: (err as Error).message };
    }
    this.#view = view;
    try {
      writeFileAtomic(dataDirLayout(config.node.dataDir).fleet, JSON.stringify(view, null, 2) + "\n", 0o600);
    } catch (err) {
      this.#o.log.warn("could not record the fleet view for unibus status", { error: (err as Error).message });
    }
    return view;
  }
}
