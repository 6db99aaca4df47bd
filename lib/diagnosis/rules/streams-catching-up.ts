/**
 * streams-catching-up.ts is the rule for this node's own streams lagging
 * while the meta layer is fine: a new stream or a rejoin lags for a moment,
 * so it counts only after STREAM_CATCHUP_GRACE_MS.
 */
import { unibusCommand } from "../../config/installed.ts";
import type { HealthFacts } from "../facts.ts";
import { defineRule } from "../rule.ts";

/** STREAM_CATCHUP_GRACE_MS: streams may lag this long (a new stream, a rejoin) before it counts as a problem. */
export const STREAM_CATCHUP_GRACE_MS = 20_000;

/** streamsCatchingUpRule reports jetstream_not_current (degraded) when nats's full /healthz fails past the grace. */
export const streamsCatchingUpRule = defineRule({
  name: "streams-catching-up",
  kinds: ["jetstream_not_current"],
  check({ facts: f }) {
    if (!f.reachable || !f.jetstreamEnabled) return [];
    // In a cluster, the meta rule speaks while there is no leader or this node is not current with it.
    if (f.config.cluster && (!f.meta?.leader || (f.metaHealth && !f.metaHealth.ok))) return [];
    if (f.health.ok || (f.streamsBehindMs !== undefined && f.streamsBehindMs < STREAM_CATCHUP_GRACE_MS)) return [];
    if (aloneInMetaGroup(f)) {
      // After `unibus recover` (or with every other member removed) streams keep their configured
      // replica count; nats places the missing replicas only on members that join, so waiting never ends.
      return [{
        kind: "jetstream_not_current", severity: "degraded", node: f.node,
        cause: `this node is the only member of its JetStream meta group (after unibus recover, or with the others removed): streams configured with more replicas run on this one until new boxes join, so nats reports them not current (${f.health.detail}); they take writes`,
        fix: `join boxes: on a CA holder run ${f.config.tls?.caKey ? unibusCommand(f.config.file, "token create") : "sudo unibus token create"} and run the line it prints on each new box (with new names); nats places the missing replicas on them`,
      }];
    }
    return [{
      kind: "jetstream_not_current", severity: "degraded", node: f.node,
      cause: `JetStream on this node is catching up: ${f.health.detail}${f.streamsBehindMs ? ` (for ${Math.round(f.streamsBehindMs / 1000)} s)` : ""}`,
      fix: `wait for the replicas to catch up; if it lasts, check the routes and disk of this node and the log (journalctl -u unibus); ${f.config.file}`,
    }];
  },
});

/** aloneInMetaGroup tells whether this node leads a meta group of one: no peer exists to hold a stream's other replicas. */
export function aloneInMetaGroup(f: HealthFacts): boolean {
  if (!f.config.cluster || f.meta?.leader !== f.node) return false;
  // Members taken out (recover, remove) may linger in nats's view for a moment: they hold no replica.
  const removed = new Set(f.members.filter((m) => m.removed).map((m) => m.name));
  const others = f.meta.peers.filter((p) => p.name !== f.node && !removed.has(p.name));
  return others.length === 0 && (f.meta.clusterSize ?? 1) <= Math.max(1, f.meta.peers.length);
}
