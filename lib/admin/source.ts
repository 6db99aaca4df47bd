/**
 * source.ts is the admin app's one window on the node: nats-server's
 * monitoring (through a short-lived snapshot cache), the effective config,
 * the certificate, the log ring and the rate sampler. The app never reaches
 * around it, so tests can point it at any real nats monitoring port.
 */
import type { UnibusConfig } from "../config/load.ts";
import { nodeCaFingerprint } from "../membership/cert-files.ts";
import type { MonitorClient } from "../natsd/monitor.ts";
import type { NodeIdentity } from "../pki/index.ts";
import { ClusterTracker } from "./cluster-view.ts";
import { DiskUsageCache } from "./disk-usage.ts";
import type { LogLine } from "./log-ring.ts";
import { buildOverview, type Overview, type Versions } from "./model.ts";
import type { RatesView } from "./panels/rates.tsx";
import { RateSampler } from "./sampler.ts";
import { SnapshotCache, type Snapshot } from "../natsd/snapshot.ts";
import type { Varz } from "../natsd/monitoring-types.ts";
import { assess, probeMissing, type Assessment } from "../diagnosis/assess.ts";
import { readinessOf, type Readiness } from "../diagnosis/readiness.ts";
import type { HealthFacts } from "../diagnosis/facts.ts";
import type { NatsEvent } from "../diagnosis/nats-events.ts";
import type { PeerProbe } from "../diagnosis/peer-probe.ts";
import type { Diagnosis } from "../diagnosis/problem.ts";

/** META_LAG_GRACE_MS is how long a node that was current may lag the meta leader and stay ready (normal churn). */
export const META_LAG_GRACE_MS = 10_000;

/** PROBE_TTL_MS is how long the answer of a missing peer's route port is reused. */
const PROBE_TTL_MS = 15_000;

/** AdminSource is everything the admin app reads. */
export interface AdminSource {
  snapshot(): Promise<Snapshot>;
  overview(): Promise<Overview>;
  /** readiness is what /readyz answers: monitoring only, without the dashboard's disk walk. */
  readiness(): Promise<Readiness>;
  /** health is the verdict and problems, the same as `unibus status` prints. */
  health(): Promise<Diagnosis>;
  config(): UnibusConfig;
  logs(): LogLine[];
  /** redact removes every registered secret from text bound for a response. */
  redact(text: string): string;
  /** start begins background sampling; stop ends it. */
  start(): void;
  stop(): void;
}

/** AdminSourceOptions wire a source to a node (or, in tests, to any running nats-server). */
export interface AdminSourceOptions {
  monitor: MonitorClient;
  config: () => UnibusConfig;
  identity?: () => NodeIdentity | undefined;
  logs?: () => LogLine[];
  /** The causes nats-server logged (lib/diagnosis/nats-events.ts). */
  events?: () => NatsEvent[];
  redact?: (text: string) => string;
  versions: Versions;
  startedAt?: number;
  sampleIntervalMs?: number;
}

/** createAdminSource builds an AdminSource with its caches, tracker and sampler. */
export function createAdminSource(o: AdminSourceOptions): AdminSource {
  const snapshots = new SnapshotCache(o.monitor);
  const disk = new DiskUsageCache(() => o.config().node.dataDir);
  const tracker = new ClusterTracker();
  const sampler = new RateSampler(() => o.monitor.get<Varz>("varz"), o.sampleIntervalMs ? { intervalMs: o.sampleIntervalMs } : {});
  const startedAt = o.startedAt ?? Date.now();
  const rates = (): RatesView => ({ intervalMs: sampler.intervalMs, points: sampler.points(), ...(sampler.error ? { error: sampler.error } : {}) });
  // Missing peers are probed at most every PROBE_TTL_MS: the page refreshes every few seconds.
  let probed: { at: number; key: string; probes: PeerProbe[] } | undefined;
  const probe = async (config: UnibusConfig, missing: string[]): Promise<PeerProbe[]> => {
    const key = missing.join(",");
    if (probed && probed.key === key && Date.now() - probed.at < PROBE_TTL_MS) return probed.probes;
    const probes = await probeMissing(config, missing);
    probed = { at: Date.now(), key, probes };
    return probes;
  };
  // A node that was current and lags the meta leader for a moment (streams created and deleted
  // in a burst) stays ready for META_LAG_GRACE_MS; one that was not current (starting, or
  // rejoining after a partition) becomes ready only once it is current.
  let metaOkBefore = false;
  let metaOkAt = 0;
  let metaLagSince: number | undefined;
  let smoothed: { at: number; snapshot: Snapshot } | undefined;
  const smooth = (snap: Snapshot): Snapshot => {
    if (smoothed?.at === snap.at) return smoothed.snapshot;
    let out = snap;
    if (snap.metaHealthz.ok || !snap.varz.ok) {
      metaLagSince = undefined;
      metaOkBefore = snap.metaHealthz.ok;
      if (metaOkBefore) metaOkAt = snap.at;
    } else {
      if (metaOkBefore && snap.at - metaOkAt < META_LAG_GRACE_MS) metaLagSince ??= snap.at;
      metaOkBefore = false;
      const lag = metaLagSince === undefined ? undefined : snap.at - metaLagSince;
      if (lag !== undefined && lag < META_LAG_GRACE_MS) {
        out = { ...snap, metaHealthz: { ok: true, detail: `catching up with the meta leader (${Math.round(lag / 1000)} s; allowed ${META_LAG_GRACE_MS / 1000} s)` } };
      }
    }
    smoothed = { at: snap.at, snapshot: out };
    return out;
  };
  const snapshot = async (): Promise<Snapshot> => smooth(await snapshots.get());
  // Since when full /healthz has failed while the meta layer is current: streams catching up get a grace.
  let behindSince: number | undefined;
  let lastHealth: { at: number; assessment: Assessment } | undefined;
  const probedNames = new Map<string, string>();
  const health = async (snapshot: Snapshot): Promise<Assessment> => {
    if (lastHealth && lastHealth.at === snapshot.at) return lastHealth.assessment;
    const config = o.config();
    const behind = !snapshot.healthz.ok && (snapshot.metaHealthz.ok || !config.cluster);
    if (!behind) behindSince = undefined;
    else behindSince ??= snapshot.at;
    const assessment = await assess(config, snapshot, { events: o.events?.() ?? [], probe, streamsBehindMs: behindSince === undefined ? 0 : snapshot.at - behindSince });
    const { facts } = assessment;
    // Names stick: a probe that timed out on a loaded box does not turn a known peer back into an address.
    for (const p of facts.probes) {
      const name = p.serverName ?? /CN=([^,\s]+)/.exec(p.certSubject ?? "")?.[1];
      if (name && name !== facts.node) probedNames.set(p.address, name);
    }
    lastHealth = { at: snapshot.at, assessment };
    return assessment;
  };
  const caFingerprint = (): string | undefined => {
    try {
      return nodeCaFingerprint(o.config());
    } catch {
      return undefined;
    }
  };
  let readyFacts: { at: number; facts: HealthFacts } | undefined;
  return {
    snapshot,
    async overview() {
      const [snap, usage] = await Promise.all([snapshot(), disk.get()]);
      const snapshot_ = snap;
      const identity = o.identity?.();
      const fp = caFingerprint();
      return buildOverview({ snapshot: snapshot_, config: o.config(), ...(identity ? { identity } : {}), versions: o.versions, startedAt, disk: usage, rates: rates(), tracker, assessment: await health(snapshot_), probedNames, ...(fp ? { caFingerprint: fp } : {}) });
    },
    async health() {
      return (await health(await snapshot())).diagnosis;
    },
    async readiness() {
      const snap = await snapshot();
      // The diagnosis's own facts: from the page's assessment of this snapshot, or assessed now without probing peers.
      // Kept per snapshot: a prober asking every second must not assess (files, hashes, statfs) every time.
      if (lastHealth?.at === snap.at) return readinessOf(lastHealth.assessment.facts);
      if (readyFacts?.at !== snap.at) readyFacts = { at: snap.at, facts: (await assess(o.config(), snap, { events: [] })).facts };
      return readinessOf(readyFacts.facts);
    },
    config: o.config,
    logs: () => o.logs?.() ?? [],
    redact: o.redact ?? ((t) => t),
    start: () => sampler.start(),
    stop: () => sampler.stop(),
  };
}
