/**
 * jetstream-meta.ts is the rule for the JetStream meta group as this node
 * sees it: a one-member cluster that can never elect a leader, no leader
 * (no majority, or a majority but a new group waiting for all the servers
 * it expects), this node not current with the leader, and a group that
 * lacks members which run and route to this node.
 */
import { unibusCommand } from "../../config/installed.ts";
import { namesPeer } from "../../natsd/raft-peer-id.ts";
import type { HealthFacts } from "../facts.ts";
import { clusterQuorum, majorityOf } from "../quorum.ts";
import { defineRule } from "../rule.ts";

/** jetstreamMetaRule reports cluster_too_small, meta_no_leader, jetstream_not_current (broken) and meta_incomplete. */
export const jetstreamMetaRule = defineRule({
  name: "jetstream-meta",
  kinds: ["cluster_too_small", "meta_no_leader", "jetstream_not_current", "meta_incomplete"],
  check({ facts: f, found }) {
    if (!f.reachable || !f.jetstreamEnabled || !f.config.cluster) return [];
    const quorum = clusterQuorum(f);
    const servers = quorum.size;
    const spanning = spanningMetaGroup(f, servers);
    if (!f.meta?.leader && spanning) return [spanning];
    // One member whose meta group still counts offline servers (removed ones that came back for a moment): the
    // meta-stray rule names them and the way out; "a second box joins" would send the operator the wrong way.
    if (!f.meta?.leader && servers === 1 && f.metaCluster?.replicas?.some((r) => r.offline)) return [];
    if (!f.meta?.leader && servers === 1) {
      // nats-server bootstraps its meta group expecting at least 2 servers: a one-member cluster never elects a leader.
      return [{
        kind: "cluster_too_small", severity: "broken", node: f.node,
        cause: "this cluster has one member, and clustered JetStream elects its meta leader only with 2 or more servers: no stream can be created or written until a second box joins (core NATS publish and subscribe work)",
        fix: `join a second box: on this node run ${unibusCommand(f.config.file, "token create")} and run the line it prints on the new box; with 3 members streams stay writable while one box is down`,
      }];
    }
    if (!f.meta?.leader && quorum.majority) {
      // A majority is routed, so "fewer than a majority" would send the operator after the wrong cause.
      const expected = f.meta?.clusterSize;
      return [{
        kind: "meta_no_leader", severity: "broken", node: f.node,
        cause: `JetStream has no meta leader although this node reaches ${quorum.reached} of its ${servers - 1} peers (a majority), so no stream, KV bucket or consumer can be created, changed or deleted (streams that have a leader keep taking writes): an election is under way, or the meta group is new and waits for its first leader, which nats-server elects only once every server it expects${expected ? ` (${expected})` : ""} has voted`,
        fix: found.length
          ? "fix the problems above; a new meta group elects its first leader once every server it expects is connected, one that has had a leader needs only a majority"
          : "start the missing nodes or reconnect them; if every node is connected and this stays for more than a minute, read the nats-server lines in each node's log (journalctl -u unibus)",
      }];
    }
    if (!f.meta?.leader) {
      return [{
        kind: "meta_no_leader", severity: "broken", node: f.node,
        cause: `JetStream has no meta leader: fewer than a majority (${majorityOf(servers)} of ${servers}) of the nodes can reach each other, so no stream can be written or changed`,
        // README "When things go wrong": the survivor of a lost majority has one way back when the others are gone for good.
        fix: (found.length ? "fix the problems above; the meta group elects a leader as soon as a majority of nodes are connected" : "start the missing nodes or reconnect them (unibus status on each node says why it is missing)") +
          "; if the others are gone for good, on this box: sudo unibus recover (a cluster of one with this box's data; it says what is lost first, and refuses while another member may be alive)",
      }];
    }
    if (f.metaHealth && !f.metaHealth.ok) {
      return [{
        kind: "jetstream_not_current", severity: "broken", node: f.node,
        cause: `JetStream on this node is not current with the meta leader ${f.meta.leader} (${f.metaHealth.detail}): writes through this node wait until it catches up`,
        fix: "usually it catches up within seconds after a partition heals; if it stays, check the routes to the meta leader and the log (journalctl -u unibus)",
      }];
    }
    const known = f.meta.clusterSize;
    if (known === undefined || known >= servers || f.missingPeers.length || found.length) return [];
    const absent = metaAbsentMembers(f);
    if (!absent.length) {
      return [{
        kind: "meta_incomplete", severity: "degraded", node: f.node,
        cause: `the JetStream meta group knows ${known} of the ${servers} servers in cluster.peers`,
        fix: "start the missing nodes; if one will never return, take it out of the cluster from any member: sudo unibus remove NAME",
      }];
    }
    // Every route is up (else another problem would say so): these run, but JetStream has not taken them in.
    const one = absent.length === 1;
    return [{
      kind: "meta_incomplete", severity: "degraded", node: absent.join(", "),
      cause: `the JetStream meta group knows ${known} of the ${servers} servers in cluster.peers; it lacks ${absent.join(", ")}, which run${one ? "s" : ""} and route${one ? "s" : ""} to this node`,
      fix: `nats-server keeps a name that was removed (unibus remove / leave) out of the meta group for 5 minutes after the removal, then takes it in by itself; if ${absent.join(", ")} ${one ? "stays" : "stay"} out longer, restart unibus on ${one ? "it" : "them"} (systemctl restart unibus)`,
    }];
  },
});

/**
 * spanningMetaGroup is meta_no_leader for a cluster in a supercluster
 * ([gateway] without site): the meta group counts every site's servers, so
 * a site cut off from the others lacks a majority although its own nodes
 * all reach each other; undefined when the meta group is this cluster's own.
 */
function spanningMetaGroup(f: HealthFacts, servers: number) {
  const gw = f.config.gateway;
  const size = f.meta?.clusterSize;
  if (!gw || gw.site !== undefined || size === undefined || size <= servers) return undefined;
  const seen = (f.meta?.peers ?? []).filter((p) => !p.offline).length || 1;
  const remotes = gw.remotes.map((r) => r.name).join(", ") || "the other sites";
  return {
    kind: "meta_no_leader" as const, severity: "broken" as const, node: f.node,
    cause: `JetStream has no meta leader: its meta group spans every site joined by [gateway] (${size} servers, ${servers} of them in this cluster), and this node is in contact with ${seen}, fewer than a majority (${majorityOf(size)} of ${size}); no stream, KV bucket or consumer can be created or changed (existing streams whose replicas are all in this cluster still take writes), although this cluster's own nodes may all reach each other`,
    fix: `restore the gateway to ${remotes} (unibus status there; its [[gateway.remotes]] urls in ${f.config.file}); to keep each site writable through a WAN cut, give each site its own JetStream with [gateway] site = "NAME" (README "Sites")`,
  };
}

/** metaAbsentMembers names the current members the meta group does not hold (matched by name or RAFT peer id). */
function metaAbsentMembers(f: HealthFacts): string[] {
  const meta = f.metaCluster;
  if (!meta) return [];
  const inGroup = [...(meta.leader ? [{ name: meta.leader }] : []), ...(meta.replicas ?? []), { name: f.config.node.name }];
  return f.members.filter((m) => !m.removed && !inGroup.some((g) => namesPeer(g, m.name))).map((m) => m.name);
}
