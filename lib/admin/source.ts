/**
 * source.ts is the admin app's one window on the node: nats-server's
 * monitoring (through a short-lived snapshot cache), the effective config,
 * the certificate, the log ring and the rate sampler. The app never reaches
 * around it, so tests can point it at any real nats monitoring port.
 */
import type { UnibusConfig } from "../config/load.ts";
import type { MonitorClient } from "../natsd/monitor.ts";
import type { NodeIdentity } from "../pki/index.ts";
import { ClusterTracker, buildClusterView } from "./cluster-view.ts";
import { evaluateReadiness, type Readiness } from "./readiness.ts";
import { DiskUsageCache } from "./disk-usage.ts";
import type { LogLine } from "./log-ring.ts";
import { buildOverview, type Overview, type RatesView, type Versions } from "./model.ts";
import { RateSampler } from "./sampler.ts";
import { SnapshotCache, type Snapshot } from "./snapshot.ts";
import type { Varz } from "./nats-types.ts";

/** AdminSource is everything the admin app reads. */
export interface AdminSource {
  snapshot(): Promise<Snapshot>;
  overview(): Promise<Overview>;
  /** readiness is what /readyz answers: monitoring only, without the dashboard's disk walk. */
  readiness(): Promise<Readiness>;
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
  return {
    snapshot: () => snapshots.get(),
    async overview() {
      const [snapshot, usage] = await Promise.all([snapshots.get(), disk.get()]);
      const identity = o.identity?.();
      return buildOverview({ snapshot, config: o.config(), ...(identity ? { identity } : {}), versions: o.versions, startedAt, disk: usage, rates: rates(), tracker });
    },
    async readiness() {
      const snapshot = await snapshots.get();
      const config = o.config();
      return evaluateReadiness(snapshot, buildClusterView(snapshot, config, tracker), config.jetstream.enabled);
    },
    config: o.config,
    logs: () => o.logs?.() ?? [],
    redact: o.redact ?? ((t) => t),
    start: () => sampler.start(),
    stop: () => sampler.stop(),
  };
}
