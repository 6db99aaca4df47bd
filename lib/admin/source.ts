/**
 * source.ts is the admin app's one window on the node: nats-server's
 * monitoring (through a short-lived snapshot cache), the effective config,
 * the certificate, the log ring and the rate sampler. The app never reaches
 * around it, so tests can point it at any real nats monitoring port.
 */
import type { UnibusConfig } from "../config/load.ts";
import { nodeCaFingerprint } from "../membership/presented-certificate.ts";
import type { MonitorClient } from "../natsd/monitor.ts";
import type { NodeIdentity } from "../pki/index.ts";
import { ClusterTracker } from "./cluster-view.ts";
import { DiskUsageCache } from "./disk-usage.ts";
import type { LogLine } from "./log-ring.ts";
import { buildOverview, type Overview, type Versions } from "./model.ts";
import type { RatesView } from "./panels/rates.tsx";
import { RateSampler } from "./sampler.ts";
import type { Snapshot } from "../natsd/snapshot.ts";
import { HealthEngine } from "../diagnosis/engine.ts";
import type { Varz } from "../natsd/monitoring-types.ts";
import type { NatsEvent } from "../diagnosis/nats-events.ts";
import type { Diagnosis } from "../diagnosis/problem.ts";
import type { Readiness } from "../diagnosis/readiness.ts";

export { META_LAG_GRACE_MS } from "../diagnosis/engine.ts";

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
  /** The node's health engine (lib/diagnosis/engine.ts); without one the source makes its own over `monitor`. */
  engine?: HealthEngine;
}

/** createAdminSource builds an AdminSource with its caches, tracker and sampler. */
export function createAdminSource(o: AdminSourceOptions): AdminSource {
  const engine = o.engine ?? new HealthEngine({ monitor: o.monitor, config: o.config, ...(o.events ? { events: o.events } : {}) });
  const disk = new DiskUsageCache(() => o.config().node.dataDir);
  const tracker = new ClusterTracker();
  const sampler = new RateSampler(() => o.monitor.get<Varz>("varz"), o.sampleIntervalMs ? { intervalMs: o.sampleIntervalMs } : {});
  const startedAt = o.startedAt ?? Date.now();
  const rates = (): RatesView => ({ intervalMs: sampler.intervalMs, points: sampler.points(), ...(sampler.error ? { error: sampler.error } : {}) });
  const snapshot = (): Promise<Snapshot> => engine.snapshot();
  const caFingerprint = (): string | undefined => {
    try {
      return nodeCaFingerprint(o.config());
    } catch {
      return undefined;
    }
  };
  return {
    snapshot,
    async overview() {
      const [snap, usage] = await Promise.all([snapshot(), disk.get()]);
      const snapshot_ = snap;
      const identity = o.identity?.();
      const fp = caFingerprint();
      return buildOverview({ snapshot: snapshot_, config: o.config(), ...(identity ? { identity } : {}), versions: o.versions, startedAt, disk: usage, rates: rates(), tracker, assessment: await engine.assessmentOf(snapshot_), probedNames: engine.probedNames, ...(fp ? { caFingerprint: fp } : {}) });
    },
    async health() {
      return (await engine.assessment()).diagnosis;
    },
    readiness: () => engine.readiness(),
    config: o.config,
    logs: () => o.logs?.() ?? [],
    redact: o.redact ?? ((t) => t),
    start: () => sampler.start(),
    stop: () => sampler.stop(),
  };
}
