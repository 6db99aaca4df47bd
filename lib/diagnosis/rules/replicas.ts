/**
 * replicas.ts is the rule for stream replicas their leader reports not
 * current: a member catching up (after a restart, over a slow link) or one
 * the leader has stopped hearing from (a full disk stops a replica). Only
 * the leader knows (nats-server raft.go Peers()), so the facts come from
 * each stream's leader, asked over the system account. Exit 0 of `unibus
 * status` means every replica of every stream is current: the gate a
 * rolling upgrade waits for before it restarts the next member.
 */
import type { ReplicaFact } from "../cluster-facts.ts";
import { defineRule, type ProblemOf } from "../rule.ts";

/** REPLICA_HEARD_MS: a replica the leader heard from within this is catching up; later, it is not following. */
export const REPLICA_HEARD_MS = 5_000;
/**
 * REPLICA_IN_STEP_OPS: under steady acknowledged writes the slowest follower
 * of an R3 stream is a few operations behind the commit (the other one makes
 * the quorum); that is not "behind".
 */
export const REPLICA_IN_STEP_OPS = 50;

type ReplicaKind = "replica_catching_up" | "replica_not_current";

/** replicasRule reports replica_catching_up and replica_not_current, one problem per member. */
export const replicasRule = defineRule({
  name: "replicas",
  kinds: ["replica_catching_up", "replica_not_current"],
  check({ facts: f }) {
    // An offline replica of a member this node has no route to is the route rules' (peer_unreachable);
    // one whose member is up again (routed, or this node) is a replica that has not caught up yet.
    // So is a replica of a member whose route is missing before gossip marks it offline (a minute or more): on the bed a
    // power-cut hub node was peer_unreachable and, 28 s in, replica_not_current too, one box dead named twice.
    const up = (name: string) => name === f.node || f.routes.some((r) => r.name === name);
    const missing = new Set(f.missingPeers);
    const unrouted = (name: string) => !up(name) && f.members.some((m) => m.name === name && !m.removed && missing.has(m.route));
    const behind = (f.cluster?.behind ?? []).filter((r) => ((!r.offline && !unrouted(r.replica)) || up(r.replica)) && !(r.lag <= REPLICA_IN_STEP_OPS && (r.activeMs ?? Infinity) < REPLICA_HEARD_MS / 2 && !r.offline));
    const byMember = new Map<string, ReplicaFact[]>();
    for (const r of behind) byMember.set(r.replica, [...(byMember.get(r.replica) ?? []), r]);
    const out: ProblemOf<ReplicaKind>[] = [];
    for (const [member, rs] of [...byMember].sort(([a], [b]) => a.localeCompare(b))) {
      const lag = rs.reduce((n, r) => n + r.lag, 0);
      const what = groups(rs);
      // Never heard by its leader (elected since the replica went silent): catching up only when it is up again.
      const heard = rs.every((r) => r.activeMs === undefined ? up(member) : r.activeMs < REPLICA_HEARD_MS);
      if (heard) {
        out.push({
          kind: "replica_catching_up", severity: "degraded", node: member,
          cause: `${member} is catching up: its replica${rs.length === 1 ? "" : "s"} of ${what} ${rs.length === 1 ? "is" : "are"} ${lag} operation${lag === 1 ? "" : "s"} behind the leader; until ${member} is current, stopping another member can stall those streams' writes`,
          fix: `wait: unibus status exits 0 once every replica is current (a rolling upgrade waits for that before it restarts the next member); if it lasts, check ${member}'s link and disk`,
        });
      } else {
        const silent = Math.max(...rs.map((r) => r.activeMs ?? 0));
        const since = rs.some((r) => r.activeMs === undefined) ? (silent ? `for ${Math.round(silent / 1000)} s or more` : "since it was elected") : `for ${Math.round(silent / 1000)} s`;
        out.push({
          kind: "replica_not_current", severity: "degraded", node: member,
          cause: `${member}'s replica${rs.length === 1 ? "" : "s"} of ${what} ${rs.length === 1 ? "is" : "are"} not current: the leader has not heard from it ${since} (${lag} operation${lag === 1 ? "" : "s"} behind)`,
          fix: `look at ${member}: unibus status there names the cause (a JetStream storage limit reached stops a replica; so does a full disk); journalctl -u unibus on ${member}; restarting unibus there makes it catch up from the leader`,
        });
      }
    }
    return out;
  },
});

/** groups names the streams ("ORDERS (leader pi-1)") and the meta group in a list. */
function groups(rs: ReplicaFact[]): string {
  const names = rs.map((r) => r.stream ? `stream ${r.stream}${r.account && r.account !== "$G" ? ` (account ${r.account})` : ""}, leader ${r.leader}` : `the JetStream meta group, leader ${r.leader}`);
  return names.length > 3 ? `${names.slice(0, 3).join("; ")} and ${names.length - 3} more` : names.join("; ");
}
