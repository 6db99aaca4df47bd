/**
 * engine.ts is the running node's one health engine. It asks nats-server's
 * monitoring at most once per snapshot (SnapshotCache), smooths a moment's
 * lag behind the meta leader, probes missing peers at most every
 * PROBE_TTL_MS, gathers the facts once per snapshot and keeps the one
 * Assessment every surface reads: `unibus status` (through the node),
 * the admin page, /readyz, /metrics and systemd's Status= line. Before, each
 * surface took its own snapshot and assessed it again.
 */
import type { UnibusConfig } from "../config/load.ts";
import type { MonitorClient } from "../natsd/monitor.ts";
import { SnapshotCache, type Snapshot } from "../natsd/snapshot.ts";
import { statusOf, type ClusterStatus } from "../cluster/status.ts";
import { assess, probeMissing, type Assessment } from "./assess.ts";
import type { ClusterFacts, MemberVerdict } from "./cluster-facts.ts";
import { diagnose } from "./diagnose.ts";
import type { HealthFacts } from "./facts.ts";
import type { NatsEvent } from "./nats-events.ts";
import type { PeerProbe } from "./peer-probe.ts";
import { readinessOf, type Readiness } from "./readiness.ts";

/** META_LAG_GRACE_MS is how long a node that was current may lag the meta leader and stay ready (normal churn). */
export const META_LAG_GRACE_MS = 10_000;

/** PROBE_TTL_MS is how long the answer of a missing peer's route port is reused. */
export const PROBE_TTL_MS = 15_000;

/** PROBE_WAIT_MS is how long an assessment waits for probes under way; a firewalled peer takes up to 15 s, and /readyz must not. */
export const PROBE_WAIT_MS = 2_000;

/** HealthEngineOptions wire the engine to a node (or, in tests, to any running nats-server). */
export interface HealthEngineOptions {
  monitor: MonitorClient;
  config: () => UnibusConfig;
  /** The causes nats-server logged (lib/diagnosis/nats-events.ts). */
  events?: () => NatsEvent[];
  /** How long one snapshot is shared (ms); default 1 s. */
  snapshotTtlMs?: number;
  /** The last round of what the whole cluster said (lib/diagnosis/cluster-health.ts); without it the engine judges this node's own view only. */
  cluster?: (own: HealthFacts) => Promise<ClusterFacts | undefined>;
}

/** HealthEngine keeps the node's one assessment, per snapshot. */
export class HealthEngine {
  readonly #o: HealthEngineOptions;
  readonly #snapshots: SnapshotCache;
  #probed?: { at: number; key: string; probes: PeerProbe[] };
  #probing?: { key: string; done: Promise<PeerProbe[]> };
  // A node that was current and lags the meta leader for a moment (streams created and deleted
  // in a burst) stays ready for META_LAG_GRACE_MS; one that was not current (starting, or
  // rejoining after a partition) becomes ready only once it is current.
  #metaOkBefore = false;
  #metaOkAt = 0;
  #metaLagSince: number | undefined;
  #smoothed?: { at: number; snapshot: Snapshot };
  // Since when full /healthz has failed while the meta layer is current: streams catching up get a grace.
  #behindSince: number | undefined;
  /** This node's own view, per snapshot: what it answers other members, and what /readyz reads. */
  #local?: { at: number; assessment: Promise<Assessment> };
  /** The own view with the cluster's answers: what status, the page, /metrics and Status= show. */
  #last?: { at: number; assessment: Promise<Assessment> };
  /** Peer names learned from probes (address → name); names stick when a later probe times out. */
  readonly probedNames = new Map<string, string>();

  constructor(o: HealthEngineOptions) {
    this.#o = o;
    this.#snapshots = new SnapshotCache(o.monitor, o.snapshotTtlMs);
  }

  /** config is the node's effective config now. */
  config(): UnibusConfig {
    return this.#o.config();
  }

  /** snapshot is the shared monitoring snapshot (at most maxAgeMs old; default the cache's ttl), with a moment's lag behind the meta leader smoothed over. */
  async snapshot(maxAgeMs?: number): Promise<Snapshot> {
    return this.#smooth(await this.#snapshots.get(maxAgeMs));
  }

  /** assessment is the diagnosis and its facts for the current snapshot, the whole cluster's answers included; concurrent callers share one. */
  async assessment(): Promise<Assessment> {
    return this.assessmentOf(await this.snapshot());
  }

  /** assessmentOf is the assessment of a snapshot taken from this engine (the page's overview pairs the two). */
  async assessmentOf(snap: Snapshot): Promise<Assessment> {
    if (this.#last?.at !== snap.at) this.#last = { at: snap.at, assessment: this.#withCluster(this.#localOf(snap)) };
    return this.#last.assessment;
  }

  /** localAssessment is this node's own view of the current snapshot, without what other members said (it never waits on them). */
  async localAssessment(): Promise<Assessment> {
    return this.#localOf(await this.snapshot());
  }

  /** ownVerdict is what this node answers a member that asks (lib/diagnosis/cluster-health.ts). */
  async ownVerdict(): Promise<MemberVerdict> {
    const { diagnosis } = await this.localAssessment();
    return { node: diagnosis.node, verdict: diagnosis.verdict, problems: diagnosis.problems, checkedAt: diagnosis.checkedAt };
  }

  #localOf(snap: Snapshot): Promise<Assessment> {
    if (this.#local?.at !== snap.at) this.#local = { at: snap.at, assessment: this.#assess(snap) };
    return this.#local.assessment;
  }

  async #withCluster(local: Promise<Assessment>): Promise<Assessment> {
    const own = await local;
    if (!this.#o.cluster || !own.facts.config.cluster || !own.facts.reachable) return own;
    const cluster = await this.#o.cluster(own.facts);
    if (!cluster) return own;
    const facts = { ...own.facts, cluster };
    return { facts, diagnosis: diagnose(facts) };
  }

  /** readiness is what /readyz answers: this node's own facts (a prober never waits on other members). */
  async readiness(): Promise<Readiness> {
    return readinessOf((await this.localAssessment()).facts);
  }

  /** status is what `unibus status` prints, from the same assessment (lib/cluster/status.ts); maxAgeMs 0 asks for a snapshot begun after the call. */
  async status(maxAgeMs?: number): Promise<ClusterStatus> {
    const snap = await this.snapshot(maxAgeMs);
    return statusOf(snap, await this.assessmentOf(snap));
  }

  async #assess(snap: Snapshot): Promise<Assessment> {
    const config = this.#o.config();
    const behind = !snap.healthz.ok && (snap.metaHealthz.ok || !config.cluster);
    if (!behind) this.#behindSince = undefined;
    else this.#behindSince ??= snap.at;
    const assessment = await assess(config, snap, { events: this.#o.events?.() ?? [], probe: (c, missing) => this.#probe(c, missing), streamsBehindMs: this.#behindSince === undefined ? 0 : snap.at - this.#behindSince, now: snap.at });
    for (const p of assessment.facts.probes) {
      const name = p.serverName ?? /CN=([^,\s]+)/.exec(p.certSubject ?? "")?.[1];
      if (name && name !== assessment.facts.node) this.probedNames.set(p.address, name);
    }
    return assessment;
  }

  /**
   * #probe asks missing peers' route ports at most every PROBE_TTL_MS (the
   * page refreshes every few seconds), in the background: an assessment
   * waits for probes under way at most PROBE_WAIT_MS, then goes on with what
   * it knew, and the next snapshot has the answers.
   */
  async #probe(config: UnibusConfig, missing: string[]): Promise<PeerProbe[]> {
    const key = missing.join(",");
    const known = this.#probed?.key === key ? this.#probed.probes : [];
    if (this.#probed?.key === key && Date.now() - this.#probed.at < PROBE_TTL_MS) return known;
    if (this.#probing?.key !== key) {
      const probing = { key, done: probeMissing(config, missing) };
      this.#probing = probing;
      void probing.done.then((probes) => {
        this.#probed = { at: Date.now(), key, probes };
        if (this.#probing === probing) this.#probing = undefined;
      });
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<PeerProbe[]>((resolve) => { timer = setTimeout(() => resolve(known), PROBE_WAIT_MS); });
    try {
      return await Promise.race([this.#probing!.done, waited]);
    } finally {
      clearTimeout(timer);
    }
  }

  #smooth(snap: Snapshot): Snapshot {
    if (this.#smoothed?.at === snap.at) return this.#smoothed.snapshot;
    let out = snap;
    if (snap.metaHealthz.ok || !snap.varz.ok) {
      this.#metaLagSince = undefined;
      this.#metaOkBefore = snap.metaHealthz.ok;
      if (this.#metaOkBefore) this.#metaOkAt = snap.at;
    } else {
      if (this.#metaOkBefore && snap.at - this.#metaOkAt < META_LAG_GRACE_MS) this.#metaLagSince ??= snap.at;
      this.#metaOkBefore = false;
      const lag = this.#metaLagSince === undefined ? undefined : snap.at - this.#metaLagSince;
      if (lag !== undefined && lag < META_LAG_GRACE_MS) {
        out = { ...snap, metaHealthz: { ok: true, detail: `catching up with the meta leader (${Math.round(lag / 1000)} s; allowed ${META_LAG_GRACE_MS / 1000} s)` } };
      }
    }
    this.#smoothed = { at: snap.at, snapshot: out };
    return out;
  }
}
