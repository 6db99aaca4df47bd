/**
 * cluster-users.ts is the rule for a member that cannot keep its copy of
 * the cluster's users in step (lib/access/replica.ts): its connection to the
 * system account is down, or another member's copy has differed from its own
 * although they exchange digests every 5 s (an older unibus on that member,
 * or a copy one of them cannot save). Clients are not refused for it: the
 * member admits the users it knew; what fails is that changes made
 * elsewhere do not reach it.
 */
import { isInstalledConfig } from "../../config/installed.ts";
import { defineRule } from "../rule.ts";

/** USERS_STALE_GRACE_MS is how long a replica may be cut off, or a copy differ, before status says so (a restart, a change on its way). */
export const USERS_STALE_GRACE_MS = 30_000;
/** USERS_HEARD_WITHIN_MS: a differing member not heard from for longer is left to the route and peer rules. */
export const USERS_HEARD_WITHIN_MS = 25_000;

/** clusterUsersRule reports cluster_users_stale from what the access replica recorded. */
export const clusterUsersRule = defineRule({
  name: "cluster-users",
  kinds: ["cluster_users_stale"],
  check({ facts: f }) {
    const a = f.access;
    if (!a || !f.reachable || !f.config.cluster || !f.config.tls) return [];
    const journal = isInstalledConfig(f.config.file) ? "journalctl -u unibus -p warning" : "the node's log";
    const out = [];
    const cutMs = a.disconnectedSince ? f.now - Date.parse(a.disconnectedSince) : 0;
    if (a.disconnectedSince && cutMs >= USERS_STALE_GRACE_MS) {
      out.push({
        kind: "cluster_users_stale" as const, severity: "degraded" as const, node: f.node,
        cause: `this member has not reached its system account to exchange the cluster's users for ${Math.round(cutMs / 1000)} s (${a.error ?? "no reason recorded"}): it admits the ${a.users} user${a.users === 1 ? "" : "s"} it knew, but user changes made on other members do not reach it and unibus user cannot change them here`,
        fix: `see ${journal} for why the connection fails; the node retries every second (a restart of unibus starts it afresh)`,
      });
    }
    for (const d of a.differing) {
      const forMs = f.now - Date.parse(d.since);
      if (forMs < USERS_STALE_GRACE_MS || f.now - Date.parse(d.lastHeard) > USERS_HEARD_WITHIN_MS) continue;
      out.push({
        kind: "cluster_users_stale" as const, severity: "degraded" as const, node: d.node,
        cause: `${d.node}'s copy of the cluster's users has differed from ${f.node}'s for ${Math.round(forMs / 1000)} s although they exchange it every 5 s: one of them runs a unibus too old to take every user, or cannot save its copy`,
        fix: `compare sudo unibus user list on ${f.node} and ${d.node}; upgrade the older unibus (sudo ./install.sh --upgrade), or look for "could not save" in ${journal}`,
      });
    }
    return out;
  },
});
