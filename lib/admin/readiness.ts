/**
 * readiness.ts decides /readyz: can this node take writes now? nats-server
 * answers, JetStream is current with a known meta leader (nats's
 * /healthz?js-meta-only=true, which a rejoining node fails until it has
 * caught up), and routes to enough peers are up for a majority. A stream
 * catching up after it was created or a peer rejoined is not a readiness
 * failure (it made `unibus_ready` flap); it shows as a degraded problem once
 * it lasts. A leaf uplink is not part of readiness either: an edge whose hub
 * is away still serves its own clients, and failing readiness would take
 * every edge out of service during one hub outage; status exits 3 and the
 * page and /metrics say so instead.
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
  const clustered = cluster.clustered && cluster.expectedSize > 1;
  const up = snapshot.varz.ok;
  checks.push(up
    ? { name: "nats", ok: true, detail: "nats-server answers" }
    : { name: "nats", ok: false, detail: `nats-server is not ready: ${snapshot.healthz.detail || "no answer"}` });
  if (jetstreamEnabled) {
    const current = clustered ? snapshot.metaHealthz : snapshot.healthz;
    if (!snapshot.jsz.ok) checks.push({ name: "jetstream", ok: false, detail: snapshot.jsz.error });
    else if (snapshot.jsz.data.disabled) checks.push({ name: "jetstream", ok: false, detail: "JetStream is disabled in nats-server" });
    else if (clustered && !cluster.metaLeader) checks.push({ name: "jetstream", ok: false, detail: "JetStream has no meta leader (no quorum yet)" });
    else if (!current.ok) checks.push({ name: "jetstream", ok: false, detail: `JetStream is not current: ${current.detail || "nats /healthz fails"}` });
    else checks.push({ name: "jetstream", ok: true, detail: cluster.metaLeader ? `JetStream is current; meta leader ${cluster.metaLeader}` : "JetStream is current" });
  } else if (up && !snapshot.healthz.ok) {
    checks[0] = { name: "nats", ok: false, detail: `nats-server is not ready: ${snapshot.healthz.detail || "no answer"}` };
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
