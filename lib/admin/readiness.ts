/**
 * readiness.ts decides /readyz: nats-server answers its health check,
 * JetStream is current (and has a meta leader in a cluster), and routes to
 * enough peers are up for this node to be part of a majority.
 */
import type { ClusterView } from "./cluster-view.ts";
import type { Snapshot } from "./snapshot.ts";

/** ReadyCheck is one condition of readiness with a sentence saying why. */
export interface ReadyCheck { name: "nats" | "jetstream" | "routes"; ok: boolean; detail: string }

/** Readiness is the verdict of /readyz. */
export interface Readiness { ready: boolean; checks: ReadyCheck[] }

/** peersNeeded is how many peers this node must reach so that it and they form a majority of `size` nodes. */
function peersNeeded(size: number): number {
  return Math.floor(size / 2);
}

/** evaluateReadiness applies the three checks to one snapshot. */
export function evaluateReadiness(snapshot: Snapshot, cluster: ClusterView, jetstreamEnabled: boolean): Readiness {
  const checks: ReadyCheck[] = [];
  checks.push(snapshot.healthz.ok
    ? { name: "nats", ok: true, detail: "nats-server answers /healthz" }
    : { name: "nats", ok: false, detail: `nats-server is not ready: ${snapshot.healthz.detail || "no answer"}` });
  if (jetstreamEnabled) {
    if (!snapshot.jsz.ok) checks.push({ name: "jetstream", ok: false, detail: snapshot.jsz.error });
    else if (snapshot.jsz.data.disabled) checks.push({ name: "jetstream", ok: false, detail: "JetStream is disabled in nats-server" });
    else if (cluster.clustered && cluster.expectedSize > 1 && !cluster.metaLeader) checks.push({ name: "jetstream", ok: false, detail: "JetStream has no meta leader (no quorum yet)" });
    else if (!snapshot.healthz.ok) checks.push({ name: "jetstream", ok: false, detail: "JetStream is not current (nats /healthz fails)" });
    else checks.push({ name: "jetstream", ok: true, detail: cluster.metaLeader ? `JetStream is current; meta leader ${cluster.metaLeader}` : "JetStream is current" });
  }
  if (cluster.clustered && cluster.expectedSize > 1) {
    const others = cluster.expectedSize - 1;
    const need = peersNeeded(cluster.expectedSize);
    const text = `routes to ${cluster.routesUp} of ${others} peers up`;
    checks.push(cluster.routesUp >= need
      ? { name: "routes", ok: true, detail: text }
      : { name: "routes", ok: false, detail: `${text}; a majority of the ${cluster.expectedSize} nodes needs ${need}` });
  }
  return { ready: checks.every((c) => c.ok), checks };
}
