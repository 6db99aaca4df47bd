/**
 * streams-catching-up.ts is the rule for this node's own streams lagging
 * while the meta layer is fine: a new stream or a rejoin lags for a moment,
 * so it counts only after STREAM_CATCHUP_GRACE_MS.
 */
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
    return [{
      kind: "jetstream_not_current", severity: "degraded", node: f.node,
      cause: `JetStream on this node is catching up: ${f.health.detail}${f.streamsBehindMs ? ` (for ${Math.round(f.streamsBehindMs / 1000)} s)` : ""}`,
      fix: `wait for the replicas to catch up; if it lasts, check the routes and disk of this node and the log (journalctl -u unibus); ${f.config.file}`,
    }];
  },
});
