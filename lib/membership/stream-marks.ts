/**
 * stream-marks.ts keeps, on every clustered node, the last sequence each
 * stream's leader reported (`$JS.API.STREAM.INFO`, answered by the leader)
 * and when, in `<data_dir>/stream-marks.json`. While the majority is there
 * it is rewritten every half minute; once the majority is lost the requests
 * fail and the file keeps what the leaders last said. `unibus recover` then
 * compares it with what the survivor holds: the difference is writes the dead
 * members acknowledged that this node never stored. Beside them it keeps when
 * a route to each other server was last up (/routez): on a follower nats
 * itself does not know when it last heard from a peer, and recover must not
 * act while one was heard from a moment ago.
 */
import { readFileSync } from "node:fs";
import type { NatsConnection } from "@nats-io/transport-node";
import type { UnibusConfig } from "../config/load.ts";
import { dataDirLayout } from "../data-dir.ts";
import { ownerOf, writeFileAtomic } from "../fsutil.ts";
import { connectJetstream } from "../backup/connect.ts";
import { MonitorClient } from "../natsd/monitor.ts";
import type { Routez } from "../natsd/monitoring-types.ts";

/** STREAM_MARKS_EVERY_MS is how often the leaders' last sequences are read (ms). */
export const STREAM_MARKS_EVERY_MS = 30_000;

/** StreamMark is what one stream's leader last reported. */
export interface StreamMark {
  name: string;
  lastSeq: number;
  leader?: string;
  replicas: number;
  /** When the leader said it (ms since epoch). */
  at: number;
}

/** StreamListPage is one answer of `$JS.API.STREAM.LIST` (the fields used here). */
interface StreamListPage {
  total?: number;
  streams?: { config: { name: string; num_replicas?: number }; state: { last_seq: number }; cluster?: { leader?: string } }[];
  error?: { description?: string };
}

/** Marks is the file's content: the streams' last leader reports, and when a route to each server was last up (ms since epoch). */
export interface Marks { streams: StreamMark[]; routesSeen: Record<string, number> }

/** readMarks reads what a node kept; empty when there is nothing. */
export function readMarks(dataDir: string): Marks {
  try {
    const body = JSON.parse(readFileSync(dataDirLayout(dataDir).streamMarks, "utf8")) as Partial<Marks>;
    return {
      streams: Array.isArray(body.streams) ? body.streams.filter((m) => typeof m.name === "string" && typeof m.lastSeq === "number") : [],
      routesSeen: body.routesSeen && typeof body.routesSeen === "object" ? body.routesSeen : {},
    };
  } catch {
    return { streams: [], routesSeen: {} };
  }
}

/** readStreamMarks reads the streams' last leader reports a node kept; empty when there are none. */
export function readStreamMarks(dataDir: string): StreamMark[] {
  return readMarks(dataDir).streams;
}

/**
 * StreamMarks reads the streams of the clients' account every
 * STREAM_MARKS_EVERY_MS and keeps their leaders' last sequences; a stream
 * reading that fails (no meta leader) leaves the previous one. start() and stop() are idempotent.
 */
export class StreamMarks {
  readonly #config: () => UnibusConfig;
  #timer?: ReturnType<typeof setInterval>;
  #nc?: NatsConnection;
  #busy = false;

  constructor(config: () => UnibusConfig) {
    this.#config = config;
  }

  /** start takes a first reading soon and then one every STREAM_MARKS_EVERY_MS; the timer keeps no process alive. */
  start(everyMs = STREAM_MARKS_EVERY_MS): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.read(), everyMs);
    this.#timer.unref?.();
    setTimeout(() => void this.read(), Math.min(everyMs, 5_000)).unref?.();
  }

  /** read takes one reading now and writes the file when anything answered. Errors are swallowed: a lost majority is when this matters. */
  async read(): Promise<void> {
    if (this.#busy || !this.#timer) return;
    this.#busy = true;
    const config = this.#config();
    const dir = config.node.dataDir;
    const kept = readMarks(dir);
    const routesSeen = { ...kept.routesSeen };
    let routesChanged = false;
    try {
      const routez = await new MonitorClient(config.monitor.listen.text).get<Routez>("routez");
      for (const r of routez.routes ?? []) {
        if (r.remote_name) routesSeen[r.remote_name] = Date.now();
        routesChanged = true;
      }
    } catch {
      // nats-server restarting: nothing seen this time
    }
    try {
      if (!this.#nc || this.#nc.isClosed()) this.#nc = await connectJetstream(config, "unibus-stream-marks");
      // A listing that completes is the whole set (a deleted stream drops out); one that fails keeps the file as it was.
      const marks: StreamMark[] = [];
      for (let offset = 0; ;) {
        const page = (await this.#nc.request("$JS.API.STREAM.LIST", JSON.stringify({ offset }), { timeout: 3_000 })).json<StreamListPage>();
        if (page.error) throw new Error(page.error.description ?? "stream list refused");
        const infos = page.streams ?? [];
        for (const info of infos) {
          marks.push({
            name: info.config.name, lastSeq: info.state.last_seq, replicas: info.config.num_replicas ?? 1,
            ...(info.cluster?.leader ? { leader: info.cluster.leader } : {}), at: Date.now(),
          });
        }
        offset += infos.length;
        if (infos.length === 0 || offset >= (page.total ?? 0)) break;
      }
      kept.streams = marks;
    } catch {
      // no meta leader, no stream leader, or the node restarting: keep what the leaders said last
    } finally {
      try {
        writeFileAtomic(dataDirLayout(dir).streamMarks, JSON.stringify({ streams: kept.streams, routesSeen: routesChanged ? routesSeen : kept.routesSeen }) + "\n", 0o600, ownerOf(dir));
      } catch {
        // recover then knows less; the node goes on
      }
      this.#busy = false;
    }
  }

  /** stop ends the readings and closes the connection. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#nc?.close().catch(() => {});
    this.#nc = undefined;
  }
}
