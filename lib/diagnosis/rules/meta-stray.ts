/**
 * meta-stray.ts is the rule for offline servers the JetStream meta group
 * still counts although they are no current member: a removed member, or a
 * peer this node knows only by RAFT peer id that matches no member. Each one
 * silently raises the majority the group needs, so it is worth a warning
 * naming the command that takes it out.
 */
import { raftPeerId, unknownPeerId } from "../../natsd/raft-peer-id.ts";
import { majorityOf } from "../quorum.ts";
import { defineRule, type ProblemOf } from "../rule.ts";

/** metaStrayRule reports meta_stray_peer for each such server. */
export const metaStrayRule = defineRule({
  name: "meta-stray",
  kinds: ["meta_stray_peer"],
  check({ facts: f }) {
    const meta = f.metaCluster;
    if (!f.config.cluster || !f.config.tls || !meta?.replicas?.length) return [];
    const members = f.members;
    const size = meta.cluster_size ?? meta.replicas.length + 1;
    const out: ProblemOf<"meta_stray_peer">[] = [];
    for (const r of meta.replicas) {
      if (!r.offline) continue;
      const id = unknownPeerId(r.name);
      const record = id ? members.find((m) => raftPeerId(m.name) === id) : members.find((m) => m.name === r.name);
      if (record && !record.removed) continue;
      // A server no members.json entry names counts only when the group is bigger than the members:
      // a cluster made by init cluster may list its first boxes in cluster.peers alone.
      if (!record && size <= members.filter((m) => !m.removed).length) continue;
      const label = record ? record.name : id ? `an unknown server (peer id ${id})` : r.name;
      const why = record?.removed ? `"${record.name}" was removed from the members, but` : id ? "this node never learned its name (it restarted while that server was down), and it is no member this node knows;" : `"${r.name}" is no member, but`;
      // Without a meta leader it is no longer "one more failure": the strays hold the majority out of reach, and
      // unibus remove refuses (it needs a leader). On the bed: two boxes removed by recover came back for seconds,
      // nats counted them again, and the survivor said "unibus remove hub-2", which refused.
      if (!meta.leader) {
        out.push({
          kind: "meta_stray_peer", severity: "broken", node: record?.name ?? r.name,
          cause: `the JetStream meta group still counts ${label}, offline: ${why} it counts towards the majority of ${majorityOf(size)} of ${size} servers, which the servers that are up do not reach: JetStream has no meta leader, so no stream can be written or changed`,
          fix: "unibus remove needs a meta leader: on this box, once nothing was heard from the offline servers for a minute, sudo unibus recover (it takes them out of the meta group; it says what is lost first)",
        });
        continue;
      }
      out.push({
        kind: "meta_stray_peer", severity: "degraded", node: record?.name ?? r.name,
        cause: `the JetStream meta group still counts ${label}, offline: ${why} it raises the majority to ${majorityOf(size)} of ${size}, so one more failure can stop JetStream`,
        fix: record || !id ? `take it out from a member: sudo unibus remove ${record?.name ?? r.name}` : "take it out from a member: sudo unibus remove NAME (the name of the box that was retired; unibus remove matches it by peer id)",
      });
    }
    return out;
  },
});
