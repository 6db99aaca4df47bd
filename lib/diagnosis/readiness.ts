/**
 * readiness.ts decides /readyz: can this node take writes now? nats-server
 * answers, JetStream is current with a known meta leader (nats's
 * /healthz?js-meta-only=true, which a rejoining node fails until it has
 * caught up), and routes reach a majority (quorum.ts, the same count the
 * diagnosis uses). It reads the diagnosis's own facts, so /readyz, the page,
 * /metrics and `unibus status` never disagree about the cluster. A stream
 * catching up after it was created or a peer rejoined is not a readiness
 * failure (it made `unibus_ready` flap); it shows as a degraded problem once
 * it lasts. A leaf uplink is not part of readiness either: an edge whose hub
 * is away still serves its own clients, and failing readiness would take
 * every edge out of service during one hub outage; status exits 3 and the
 * page and /metrics say so instead.
 */
import type { HealthFacts } from "./facts.ts";
import { clusterQuorum } from "./quorum.ts";

/** ReadyCheck is one condition of readiness with a sentence saying why. */
export interface ReadyCheck { name: "nats" | "jetstream" | "routes"; ok: boolean; detail: string }

/** Readiness is the verdict of /readyz. */
export interface Readiness { ready: boolean; checks: ReadyCheck[] }

/** readinessOf applies the three checks to the facts of one snapshot. */
export function readinessOf(f: HealthFacts): Readiness {
  const q = clusterQuorum(f);
  const checks: ReadyCheck[] = [];
  const notReady = (): ReadyCheck => ({ name: "nats", ok: false, detail: `nats-server is not ready: ${f.health.detail || "no answer"}` });
  checks.push(f.reachable ? { name: "nats", ok: true, detail: "nats-server answers" } : notReady());
  if (f.jetstreamEnabled) {
    const current = q.clustered ? (f.metaHealth ?? f.health) : f.health;
    const leader = f.meta?.leader;
    if (!f.jsz.ok) checks.push({ name: "jetstream", ok: false, detail: f.jsz.error });
    else if (f.jsz.disabled) checks.push({ name: "jetstream", ok: false, detail: "JetStream is disabled in nats-server" });
    else if (q.clustered && !leader) checks.push({ name: "jetstream", ok: false, detail: "JetStream has no meta leader (no quorum yet)" });
    else if (!current.ok) checks.push({ name: "jetstream", ok: false, detail: `JetStream is not current: ${current.detail || "nats /healthz fails"}` });
    else checks.push({ name: "jetstream", ok: true, detail: leader ? `JetStream is current; meta leader ${leader}` : "JetStream is current" });
  } else if (f.reachable && !f.health.ok) {
    checks[0] = notReady();
  }
  if (q.clustered) {
    const text = `routes to ${q.reached} of ${q.size - 1} peers up`;
    checks.push(q.majority
      ? { name: "routes", ok: true, detail: text }
      : { name: "routes", ok: false, detail: `${text}; a majority of the ${q.size} nodes needs ${q.need}` });
  }
  return { ready: checks.every((c) => c.ok), checks };
}
