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

/** ROUTES_EVERY_MS is how often the routes are looked at (ms): the moment a route drops is kept to within this. */
export const ROUTES_EVERY_MS = 5_000;

/**
 * StreamMarks reads the streams of the clients' account every
 * STREAM_MARKS_EVERY_MS and keeps their leaders' last sequences (a stream
 * whose leader does not answer keeps its previous mark), and looks at the
 * routes every ROUTES_EVERY_MS, writing the file at once when one drops.
 * start() and stop() are idempotent.
 */
export class StreamMarks {
  readonly #config: () => UnibusConfig;
  #timers: ReturnType<typeof setInterval>[] = [];
  #nc?: NatsConnection;
  #busy = false;
  #streams: StreamMark[] = [];
  #routesSeen: Record<string, number> = {};
  #connected = new Set<string>();

  constructor(config: () => UnibusConfig) {
    this.#config = config;
  }

  /** start reads the streams soon and every STREAM_MARKS_EVERY_MS, the routes every ROUTES_EVERY_MS; the timers keep no process alive. */
  start(everyMs = STREAM_MARKS_EVERY_MS): void {
    if (this.#timers.length) return;
    const kept = readMarks(this.#config().node.dataDir);
    this.#streams = kept.streams;
    this.#routesSeen = kept.routesSeen;
    this.#timers = [setInterval(() => void this.read(), everyMs), setInterval(() => void this.#lookAtRoutes(), ROUTES_EVERY_MS)];
    for (const t of this.#timers) t.unref?.();
    setTimeout(() => void this.read(), Math.min(everyMs, 5_000)).unref?.();
  }

  /** #lookAtRoutes notes which servers a route is up to; a route that dropped is written down at once. */
  async #lookAtRoutes(): Promise<void> {
    let routez: Routez;
    try {
      routez = await new MonitorClient(this.#config().monitor.listen.text).get<Routez>("routez");
    } catch {
      return; // nats-server restarting
    }
    const now = Date.now();
    const connected = new Set((routez.routes ?? []).map((r) => r.remote_name ?? "").filter(Boolean));
    for (const name of connected) this.#routesSeen[name] = now;
    const dropped = [...this.#connected].some((name) => !connected.has(name));
    this.#connected = connected;
    if (dropped) this.#write();
  }

  /** read takes one reading of the streams now and writes the file. Errors are swallowed: a lost majority is when this matters. */
  async read(): Promise<void> {
    if (this.#busy || !this.#timers.length) return;
    this.#busy = true;
    const config = this.#config();
    try {
      if (!this.#nc || this.#nc.isClosed()) this.#nc = await connectJetstream(config, "unibus-stream-marks");
      // A listing that completes is the whole set (a deleted stream drops out); one that fails keeps the marks as they were.
      const before = new Map(this.#streams.map((m) => [m.name, m]));
      const marks: StreamMark[] = [];
      for (let offset = 0; ;) {
        const page = (await this.#nc.request("$JS.API.STREAM.LIST", JSON.stringify({ offset }), { timeout: 3_000 })).json<StreamListPage>();
        if (page.error) throw new Error(page.error.description ?? "stream list refused");
        const infos = page.streams ?? [];
        for (const info of infos) {
          const leader = info.cluster?.leader;
          const previous = before.get(info.config.name);
          // Without a leader the numbers are a follower's, not what was acknowledged: keep the leader's last word.
          marks.push(!leader && previous?.leader ? previous : {
            name: info.config.name, lastSeq: info.state.last_seq, replicas: info.config.num_replicas ?? 1,
            ...(leader ? { leader } : {}), at: Date.now(),
          });
        }
        offset += infos.length;
        if (infos.length === 0 || offset >= (page.total ?? 0)) break;
      }
      this.#streams = marks;
    } catch {
      // no meta leader, or the node restarting: keep what the leaders said last
    } finally {
      this.#write();
      this.#busy = false;
    }
  }

  #write(): void {
    const dir = this.#config().node.dataDir;
    try {
      writeFileAtomic(dataDirLayout(dir).streamMarks, JSON.stringify({ streams: this.#streams, routesSeen: this.#routesSeen }) + "\n", 0o600, ownerOf(dir));
    } catch {
      // recover then knows less; the node goes on
    }
  }

  /** stop ends the readings and closes the connection. */
  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.#nc?.close().catch(() => {});
    this.#nc = undefined;
  }
}
