/**
 * home-return.ts brings an edge's uplink back to its home hub node (its
 * first choice in lib/fleet/hub-order.ts) after that node was lost and has
 * returned. nats-server never moves a leaf connection by itself: an edge
 * that failed over stays on its second choice until that node drops, so
 * without this a fleet piles up on the hub nodes that stayed up.
 *
 * The decision lives on the edge, because only the edge knows the addresses
 * it dials and the order nats-server tries them in (a hub sees leaf
 * connections, not which of an edge's URLs names which hub node). It moves
 * the uplink only towards home, only after home has answered for
 * HOME_SETTLE_MS in a row (a node that flaps is not returned to), only after
 * a random delay within HOME_MOVE_WINDOW_MS (the edges of a returning node
 * do not all reconnect in the same second) and at most once per
 * HOME_MOVE_HOLD_MS (no edge moves twice in a row). The move itself is one
 * reconnect: unibus closes the edge's own leaf connection through its
 * system account and nats-server dials its list again, home first.
 */
import { lookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import type { UnibusConfig } from "../config/load.ts";
import { uplinkCaFile } from "../config/section-leafnodes.ts";
import type { Logger } from "../log.ts";
import type { Leafz, LeafInfo } from "../natsd/monitoring-types.ts";
import type { MonitorClient } from "../natsd/monitor.ts";
import type { SystemClient } from "../natsd/system-client.ts";
import { PeriodicTask } from "../periodic-task.ts";
import { uplinkOrder } from "./hub-order.ts";
import { probeLeafPort, type LeafProbeResult, type LeafProbeTls } from "./leaf-probe.ts";

/** HOME_PROBE_INTERVAL_MS is how often an edge away from home looks at it. */
export const HOME_PROBE_INTERVAL_MS = 10_000;
/** HOME_SETTLE_MS is how long home must answer every look before the edge moves back. */
export const HOME_SETTLE_MS = 30_000;
/** HOME_MOVE_WINDOW_MS spreads the moves of one returning node's edges over this long (a random delay each). */
export const HOME_MOVE_WINDOW_MS = 30_000;
/** HOME_MOVE_HOLD_MS: an edge moves its uplink at most once in this long. */
export const HOME_MOVE_HOLD_MS = 600_000;

/** HomeState is what one uplink's return knows between looks. */
export interface HomeState {
  /** Home's address (host:port), its hub node's name once seen, and whether the uplink is on it. */
  home: string;
  homeName?: string;
  away: boolean;
  /** Since when home has answered every look (ms since the epoch); undefined while it does not. */
  homeUpSince?: number;
  /** When the edge moves back (ms since the epoch), once home answers. */
  moveAt?: number;
  lastMoveAt?: number;
  moves: number;
}

/** HomeReturnOptions connect the return to its edge node; clock and random are seams for tests. */
export interface HomeReturnOptions {
  config: () => UnibusConfig;
  monitor: MonitorClient;
  connect: () => Promise<SystemClient>;
  log: Logger;
  probe?: (host: string, port: number, tls: LeafProbeTls) => Promise<LeafProbeResult>;
  resolve?: (host: string) => Promise<string[]>;
  now?: () => number;
  random?: () => number;
  intervalMs?: number;
}

async function resolveAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true })).map((a) => a.address);
}

/** HomeReturn watches an edge's uplinks while the node runs; start() and stop() bracket it. */
export class HomeReturn {
  readonly #o: HomeReturnOptions;
  readonly #task: PeriodicTask;
  readonly #states = new Map<string, HomeState>();

  constructor(options: HomeReturnOptions) {
    this.#o = options;
    this.#task = new PeriodicTask({
      run: () => this.round(),
      intervalMs: options.intervalMs ?? HOME_PROBE_INTERVAL_MS,
      onError: (err) => this.#o.log.debug("uplink home check failed", { error: err.message }),
    });
  }

  /** states lists each uplink's home and whether it is away, keyed by home address. */
  get states(): HomeState[] { return [...this.#states.values()]; }

  start(): void { this.#task.start(); }
  stop(): Promise<void> { return this.#task.stop(); }

  /** round looks at every uplink with more than one hub node once; returns the states. */
  async round(): Promise<HomeState[]> {
    const now = this.#o.now ?? Date.now;
    const config = this.#o.config();
    const remotes = (config.leafnodes?.remotes ?? []).filter((r) => r.urls.length > 1);
    if (remotes.length === 0) return [];
    const leafz = await this.#o.monitor.get<Leafz>("leafz");
    const spokes = (leafz.leafs ?? []).filter((l) => l.is_spoke);
    const resolve = this.#o.resolve ?? resolveAll;
    for (const remote of remotes) {
      const home = uplinkOrder(config.node.name, remote.urls, remote.home)[0]!;
      const key = `${home.host}:${home.port}`;
      const state = this.#states.get(key) ?? { home: key, away: false, moves: 0 };
      this.#states.set(key, state);
      // Which of this remote's hub nodes is the uplink on?
      const addresses = new Map<string, string>();
      for (const u of remote.urls) for (const ip of await resolve(u.host).catch(() => [] as string[])) addresses.set(`${ip}:${u.port}`, `${u.host}:${u.port}`);
      const spoke: LeafInfo | undefined = spokes.find((l) => addresses.has(`${l.ip}:${l.port}`));
      if (spoke && addresses.get(`${spoke.ip}:${spoke.port}`) === key) {
        Object.assign(state, { away: false, homeUpSince: undefined, moveAt: undefined });
        if (spoke.name) state.homeName = spoke.name;
        continue;
      }
      state.away = true;
      if (!spoke) {
        // Not connected: nats-server is dialing its list, home first.
        Object.assign(state, { homeUpSince: undefined, moveAt: undefined });
        continue;
      }
      const answer = await (this.#o.probe ?? probeLeafPort)(home.host, home.port, probeTls(uplinkCaFile(config, remote), remote.certFile, remote.keyFile));
      const t = now();
      if (!answer.ok) {
        Object.assign(state, { homeUpSince: undefined, moveAt: undefined });
        continue;
      }
      if (answer.serverName) state.homeName = answer.serverName;
      state.homeUpSince ??= t;
      state.moveAt ??= state.homeUpSince + HOME_SETTLE_MS + Math.floor((this.#o.random ?? Math.random)() * HOME_MOVE_WINDOW_MS);
      if (t < state.moveAt) continue;
      if (state.lastMoveAt !== undefined && t - state.lastMoveAt < HOME_MOVE_HOLD_MS) continue;
      const sys = await this.#o.connect();
      try {
        await sys.request(`$SYS.REQ.SERVER.${leafz.server_id}.KICK`, { cid: spoke.id });
      } finally {
        await sys.close().catch(() => {});
      }
      state.lastMoveAt = t;
      state.moves++;
      Object.assign(state, { homeUpSince: undefined, moveAt: undefined });
      this.#o.log.info("moving the uplink back to its home hub node, which has answered for a while", { from: spoke.name, home: state.homeName ?? key, address: key });
    }
    return this.states;
  }
}

/** probeTls reads the uplink's CA, certificate and key for a look at home; a file that cannot be read is left out. */
function probeTls(caFile: string | undefined, certFile: string | undefined, keyFile: string | undefined): LeafProbeTls {
  const read = (file: string | undefined) => {
    if (!file) return undefined;
    try {
      return readFileSync(file, "utf8");
    } catch {
      return undefined;
    }
  };
  const [ca, cert, key] = [read(caFile), read(certFile), read(keyFile)];
  return { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) };
}
