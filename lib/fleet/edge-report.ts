/**
 * edge-report.ts carries an edge's own verdict to its hub: the hub sees an
 * edge's leaf connection, but only the edge knows whether it is healthy (its
 * disk, its store and forward, its certificate). Every EDGE_REPORT_INTERVAL_MS
 * the edge publishes a small JSON report over its uplink to
 * `_UNIBUS.EDGE.VERDICT.<name>` in the clients' account (the account its
 * uplink binds); every hub node's fleet watch subscribes to them
 * (lib/fleet/fleet-watch.ts). A report older than EDGE_REPORT_STALE_MS is
 * said to be stale, never shown as the edge's state now. Core NATS: a report
 * published while the uplink is down is dropped, and the next one replaces it.
 * Only unibus's own tool user may publish there: every client user and nkey
 * is denied `_UNIBUS.>` (RESERVED_PUBLISH, lib/config/section-client.ts). An
 * enrolled edge also signs its report with its own nkey (the key its uplink
 * signs in with; the hub keeps the public half), and a hub node takes a
 * report about an enrolled edge only with that edge's valid signature: an
 * anonymous local client on one edge cannot speak for another edge through
 * that edge's uplink.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { fromPublic } from "@nats-io/nkeys";
import type { Logger } from "../log.ts";
import { PeriodicTask } from "../periodic-task.ts";

/** EDGE_REPORT_INTERVAL_MS is how often an edge reports its verdict: a few bytes per edge, so a fleet of 48 sends about five reports a second. */
export const EDGE_REPORT_INTERVAL_MS = 10_000;
/** EDGE_REPORT_STALE_MS: a report older than three intervals says nothing about the edge now. */
export const EDGE_REPORT_STALE_MS = 3 * EDGE_REPORT_INTERVAL_MS;
/** EDGE_REPORT_SUBJECT_PREFIX is where reports go; the edge's node name ends the subject. */
export const EDGE_REPORT_SUBJECT_PREFIX = "_UNIBUS.EDGE.VERDICT";

/** EdgeReport is what an edge says about itself: its verdict, its first problem, its versions. */
export interface EdgeReport {
  /** The edge's node name (nats server_name). */
  edge: string;
  verdict: "healthy" | "degraded" | "broken";
  /** The first problem: its kind and cause, as the edge's own status says it. */
  problem?: { kind: string; cause: string };
  /** How many problems the edge has. */
  problems: number;
  /** unibus's and nats-server's versions on the edge. */
  unibus?: string;
  nats?: string;
  /** When the edge took its verdict (ISO time, the edge's clock). */
  at: string;
}

/** MAX_CAUSE_CHARS bounds the first problem's text in a report (the edge's status has it whole). */
const MAX_CAUSE_CHARS = 300;

/** parseEdgeReport checks a report's shape (it comes over the wire); undefined when it is not one. */
export function parseEdgeReport(data: unknown): EdgeReport | undefined {
  const r = data as EdgeReport;
  if (!r || typeof r !== "object" || typeof r.edge !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(r.edge)) return undefined;
  if (!["healthy", "degraded", "broken"].includes(r.verdict) || typeof r.at !== "string" || Number.isNaN(Date.parse(r.at))) return undefined;
  const problem = r.problem && typeof r.problem.kind === "string" && typeof r.problem.cause === "string" ? { kind: r.problem.kind.slice(0, 64), cause: r.problem.cause.slice(0, MAX_CAUSE_CHARS) } : undefined;
  return {
    edge: r.edge, verdict: r.verdict, problems: typeof r.problems === "number" ? r.problems : problem ? 1 : 0, at: r.at,
    ...(problem ? { problem } : {}),
    ...(typeof r.unibus === "string" ? { unibus: r.unibus.slice(0, 64) } : {}),
    ...(typeof r.nats === "string" ? { nats: r.nats.slice(0, 64) } : {}),
  };
}

/** EdgeReporterOptions connect the reporter to its edge. */
export interface EdgeReporterOptions {
  name: () => string;
  /** The edge's own verdict now (lib/diagnosis/engine.ts ownVerdict). */
  verdict: () => Promise<{ verdict: EdgeReport["verdict"]; problems: { kind: string; cause: string }[] }>;
  versions: { unibus: string; nats: string };
  /** A connection to the edge's own nats-server in the clients' account. */
  connect: () => Promise<NatsConnection>;
  /** Signs a report's bytes with the edge's own nkey (an enrolled edge); hand-written edges send unsigned reports. */
  sign?: (data: Uint8Array) => Uint8Array;
  log: Logger;
  intervalMs?: number;
}

/** SignedReport is what an enrolled edge publishes: the report's JSON text and its ed25519 signature (base64url) by the edge's nkey. */
export interface SignedReport { report: string; sig: string }

/** signedPayload is the wire text of a report: signed when sign is given, else the report's JSON alone. */
export function signedPayload(report: EdgeReport, sign?: (data: Uint8Array) => Uint8Array): string {
  const text = JSON.stringify(report);
  if (!sign) return text;
  return JSON.stringify({ report: text, sig: Buffer.from(sign(new TextEncoder().encode(text))).toString("base64url") } satisfies SignedReport);
}

/**
 * openReport reads a report from the wire: a signed one is taken only when
 * its signature verifies with the named edge's nkey (keyOf), and an unsigned
 * one only for an edge the hub has no key for (a hand-written edge); anything
 * else is undefined. keyOf gives an enrolled edge's public user nkey ("U…").
 */
export function openReport(data: unknown, keyOf: (edge: string) => string | undefined): EdgeReport | undefined {
  const signed = data as SignedReport;
  if (signed && typeof signed === "object" && typeof signed.report === "string" && typeof signed.sig === "string") {
    let report: EdgeReport | undefined;
    try {
      report = parseEdgeReport(JSON.parse(signed.report));
    } catch {
      return undefined;
    }
    const key = report && keyOf(report.edge);
    if (!report || !key) return undefined;
    try {
      return fromPublic(key).verify(new TextEncoder().encode(signed.report), Buffer.from(signed.sig, "base64url")) ? report : undefined;
    } catch {
      return undefined;
    }
  }
  const report = parseEdgeReport(data);
  return report && !keyOf(report.edge) ? report : undefined;
}

/** EdgeReporter publishes the edge's verdict while it runs; start() and stop() bracket it. */
export class EdgeReporter {
  readonly #o: EdgeReporterOptions;
  readonly #task: PeriodicTask;
  #nc?: NatsConnection;

  constructor(options: EdgeReporterOptions) {
    this.#o = options;
    this.#task = new PeriodicTask({
      run: () => this.reportNow(),
      intervalMs: options.intervalMs ?? EDGE_REPORT_INTERVAL_MS,
      onError: (err) => this.#o.log.debug("edge report not sent this round", { error: err.message }),
    });
  }

  start(): void {
    this.#task.start();
  }

  async stop(): Promise<void> {
    await this.#task.stop();
    await this.#nc?.close().catch(() => {});
    this.#nc = undefined;
  }

  /** reportNow publishes one report. */
  async reportNow(): Promise<EdgeReport> {
    const own = await this.#o.verdict();
    const first = own.problems[0];
    const report: EdgeReport = {
      edge: this.#o.name(), verdict: own.verdict, problems: own.problems.length, at: new Date().toISOString(),
      ...(first ? { problem: { kind: first.kind, cause: first.cause.slice(0, MAX_CAUSE_CHARS) } } : {}),
      unibus: this.#o.versions.unibus, nats: this.#o.versions.nats,
    };
    if (!this.#nc || this.#nc.isClosed()) this.#nc = await this.#o.connect();
    this.#nc.publish(`${EDGE_REPORT_SUBJECT_PREFIX}.${report.edge}`, signedPayload(report, this.#o.sign));
    await this.#nc.flush();
    return report;
  }
}

/** ReceivedReport is a report as a hub node holds it: when it arrived, by this hub node's clock. */
export interface ReceivedReport { report: EdgeReport; receivedAt: number }

/**
 * EdgeReportInbox is a hub node's subscription to its edges' reports: the
 * last one per edge. It subscribes again when its connection was lost.
 */
export class EdgeReportInbox {
  readonly #connect: () => Promise<NatsConnection>;
  readonly #keyOf: (edge: string) => string | undefined;
  readonly #last = new Map<string, ReceivedReport>();
  #nc?: NatsConnection;
  #sub?: Subscription;

  /** keyOf gives an enrolled edge's public nkey: its reports must carry its signature (openReport). */
  constructor(connect: () => Promise<NatsConnection>, keyOf: (edge: string) => string | undefined = () => undefined) {
    this.#connect = connect;
    this.#keyOf = keyOf;
  }

  /** ensure subscribes unless a live subscription exists (called every fleet round). */
  async ensure(): Promise<void> {
    if (this.#nc && !this.#nc.isClosed() && this.#sub && !this.#sub.isClosed()) return;
    await this.#nc?.close().catch(() => {});
    this.#nc = await this.#connect();
    const sub = this.#nc.subscribe(`${EDGE_REPORT_SUBJECT_PREFIX}.*`);
    this.#sub = sub;
    void (async () => {
      for await (const m of sub) {
        let report: EdgeReport | undefined;
        try {
          report = openReport(m.json(), this.#keyOf);
        } catch {
          report = undefined;
        }
        // The subject names the sender's edge: a report about another edge is not taken.
        if (report && m.subject === `${EDGE_REPORT_SUBJECT_PREFIX}.${report.edge}`) this.#last.set(report.edge, { report, receivedAt: Date.now() });
      }
    })().catch(() => {});
    await this.#nc.flush();
  }

  /** reports are the last report of every edge heard from. */
  reports(): Map<string, ReceivedReport> {
    return this.#last;
  }

  async close(): Promise<void> {
    await this.#nc?.close().catch(() => {});
    this.#nc = undefined;
  }
}
