/** The jetstream-meta rule: one member alone, no leader, not current with the leader, and a group lacking running members. */
import { expect, test } from "bun:test";
import { jetstreamMetaRule } from "../../../lib/diagnosis/rules/jetstream-meta.ts";
import { clustered, cut, healthy, member, run } from "./_facts.ts";
import type { UnibusConfig } from "../../../lib/config/load.ts";

const alone = { ...clustered, cluster: { ...clustered.cluster!, routes: [] } } as UnibusConfig;
const noLeader = { meta: { clusterSize: 3, peers: [] }, metaCluster: { cluster_size: 3 } };
const gatewayTo = (site?: string) => ({ ...(site ? { site } : {}), listen: { text: "0.0.0.0:7222" }, remotes: [{ name: "site-b", urls: [] }] });
/** superclustered is pi-1 of lab in one supercluster with site-b: the meta group counts both sites' servers. */
const superclustered = { ...clustered, gateway: gatewayTo() } as unknown as UnibusConfig;
const spanning = { config: superclustered, meta: { clusterSize: 6, peers: [{ name: "pi-1", offline: false }, { name: "pi-2", offline: false }, { name: "pi-3", offline: false }, { name: "b-1", offline: true }, { name: "b-2", offline: true }, { name: "b-3", offline: true }] } };
test.each([
  ["a leader, current, every member in", healthy(), undefined],
  ["a one-member cluster", healthy({ config: alone, routes: [], ...noLeader }), ["cluster_too_small", "broken", "pi-1", "token create"]],
  ["one member whose meta group still counts offline removed servers: the meta-stray rule's, not 'a second box joins'", healthy({ config: alone, routes: [], ...noLeader, metaCluster: { cluster_size: 3, replicas: [{ name: "pi-2", current: false, offline: true }] } }), undefined],
  ["no leader, no majority", cut(healthy(noLeader), "10.0.0.2:6222", "10.0.0.3:6222"), ["meta_no_leader", "broken", "pi-1", "fewer than a majority (2 of 3)"]],
  ["no leader with a majority routed: not 'fewer than a majority'", cut(healthy(noLeader), "10.0.0.3:6222"), ["meta_no_leader", "broken", "pi-1", "reaches 1 of its 2 peers (a majority)"]],
  ["not current with the leader", healthy({ metaHealth: { ok: false, detail: "JetStream is not current with the meta leader" } }), ["jetstream_not_current", "broken", "pi-1", "writes through this node wait"]],
  ["pi-3 runs and routes but is not in the group", healthy({ meta: { leader: "pi-1", clusterSize: 2, peers: [] }, metaCluster: { leader: "pi-1", cluster_size: 2, replicas: [{ name: "pi-2", current: true }] } }), ["meta_incomplete", "degraded", "pi-3", "it lacks pi-3"]],
  ["a smaller group without a member list", healthy({ members: [member("pi-1", 1)], meta: { leader: "pi-1", clusterSize: 2, peers: [] }, metaCluster: { leader: "pi-1", cluster_size: 2, replicas: [{ name: "pi-2", current: true }, { name: "pi-3", current: true }] } }), ["meta_incomplete", "degraded", "pi-1", "knows 2 of the 3 servers"]],
  ["a site cut off from its supercluster: the meta group spans the sites, not 'fewer than a majority of the nodes'", healthy(spanning), ["meta_no_leader", "broken", "pi-1", "spans every site joined by [gateway] (6 servers, 3 of them in this cluster), and this node is in contact with 3, fewer than a majority (4 of 6)"]],
  ["…and its fix points at independent sites", healthy(spanning), ["meta_no_leader", "broken", "pi-1", '[gateway] site = "NAME"']],
  ["an independent site's meta group is its own", healthy({ ...spanning, config: { ...clustered, gateway: gatewayTo("lab") } as unknown as UnibusConfig, meta: { leader: "pi-1", clusterSize: 3, peers: [] } }), undefined],
] as const)("%s", (_, facts, want) => {
  const out = run(jetstreamMetaRule, facts);
  if (!want) return expect(out).toEqual([]);
  expect(out.map((p) => [p.kind, p.severity, p.node])).toEqual([[want[0], want[1], want[2]]]);
  expect(`${out[0]!.cause} ${out[0]!.fix}`).toContain(want[3]);
});

test("no leader after route problems says to fix them first; an incomplete group behind another problem is not named", () => {
  const earlier = [{ kind: "peer_unreachable" as const, severity: "broken" as const, node: "pi-2", cause: "", fix: "" }];
  expect(run(jetstreamMetaRule, cut(healthy(noLeader), "10.0.0.2:6222", "10.0.0.3:6222"), earlier)[0]!.fix).toContain("fix the problems above");
  expect(run(jetstreamMetaRule, cut(healthy(noLeader), "10.0.0.3:6222"), earlier)[0]!.fix).toContain("fix the problems above");
  expect(run(jetstreamMetaRule, cut(healthy(noLeader), "10.0.0.3:6222"))[0]!.cause).not.toContain("fewer than a majority");
  expect(run(jetstreamMetaRule, healthy({ meta: { leader: "pi-1", clusterSize: 2, peers: [] } }), earlier)).toEqual([]);
});

test("a node without a majority points at unibus recover for when the others are gone for good", () => {
  // README "When things go wrong": status on the survivor says which case it is; before, its fix named only bringing them back.
  const out = run(jetstreamMetaRule, cut(healthy(noLeader), "10.0.0.2:6222", "10.0.0.3:6222"));
  expect(out.find((p) => p.kind === "meta_no_leader")!.fix).toContain("sudo unibus recover");
});
