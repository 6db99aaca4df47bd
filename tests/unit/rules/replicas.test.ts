/**
 * The replicas rule: a replica its stream's leader reports behind is named
 * on any member, catching up while the leader hears from it, not current
 * once it does not; a follower a few operations behind under steady writes
 * and an offline one (the route rules name it) are not.
 */
import { expect, test } from "bun:test";
import { replicasRule } from "../../../lib/diagnosis/rules/replicas.ts";
import type { ReplicaFact } from "../../../lib/diagnosis/cluster-facts.ts";
import { healthy, round, run } from "./_facts.ts";

const r = (over: Partial<ReplicaFact>): ReplicaFact => ({ stream: "ORDERS", account: "$G", leader: "pi-1", replica: "pi-3", current: false, offline: false, lag: 0, activeMs: 100, ...over });
test.each([
  ["every replica current", [], []],
  ["a follower a few operations behind under writes", [r({ lag: 3, activeMs: 20 })], []],
  ["an offline replica of a member this node has no route to (the route rules name it)", [r({ replica: "pi-9", lag: 9000, offline: true, activeMs: 60_000 })], []],
  ["pi-3 catching up two streams", [r({ lag: 12_000 }), r({ stream: "EVENTS", lag: 500, leader: "pi-2" })], [["replica_catching_up", "pi-3", "12500 operations behind"]]],
  ["pi-2 no longer heard from", [r({ replica: "pi-2", lag: 6_203, activeMs: 42_000 })], [["replica_not_current", "pi-2", "has not heard from it for 42 s"]]],
  ["the meta group", [r({ stream: "", account: "", replica: "pi-2", lag: 400 })], [["replica_catching_up", "pi-2", "the JetStream meta group"]]],
] as const)("%s", (_, behind, want) => {
  const out = run(replicasRule, healthy({ cluster: round({ behind: behind as unknown as ReplicaFact[] }) }));
  expect(out.map((p) => [p.kind, p.severity, p.node])).toEqual(want.map(([k, n]) => [k, "degraded", n]));
  want.forEach(([, , w], i) => expect(out[i]!.cause).toContain(w));
});

test("a member powered off while it led the streams is not 'catching up': their new leaders never heard from it", () => {
  const f = healthy({ cluster: round({ behind: [r({ replica: "pi-2", lag: 106, activeMs: undefined }), r({ stream: "EVENTS", replica: "pi-2", lag: 8, activeMs: undefined })] }) });
  const down = { ...f, routes: f.routes.filter((x) => x.name !== "pi-2") };
  expect(run(replicasRule, down).map((p) => [p.kind, p.node])).toEqual([["replica_not_current", "pi-2"]]);
  expect(run(replicasRule, down)[0]!.cause).toContain("has not heard from it since it was elected");
  // Once it routes to this node again it is catching up.
  expect(run(replicasRule, f).map((p) => p.kind)).toEqual(["replica_catching_up"]);
});

test("a member with no route from this node, not yet offline in nats' gossip, is the route rules' alone", () => {
  const f = healthy({ cluster: round({ behind: [r({ replica: "pi-2", lag: 0, activeMs: 28_000 }), r({ stream: "", account: "", replica: "pi-2", lag: 0, activeMs: 28_000 })] }) });
  const down = { ...f, routes: f.routes.filter((x) => x.name !== "pi-2"), missingPeers: ["10.0.0.2:6222"], members: [{ name: "pi-2", id: "pi-2", route: "10.0.0.2:6222", joinedAt: "2026-12-01T00:00:00Z", updatedAt: 1 }] };
  expect(run(replicasRule, down)).toEqual([]);
  // Its route up again, the same facts are a member catching up or not current: named.
  expect(run(replicasRule, { ...down, routes: f.routes, missingPeers: [] }).map((p) => p.kind)).toEqual(["replica_not_current"]);
});

test("the fix of a catching-up member is the rolling upgrade's gate", () => {
  const [p] = run(replicasRule, healthy({ cluster: round({ behind: [r({ lag: 5_000 })] }) }));
  expect(p!.cause).toContain("stream ORDERS, leader pi-1");
  expect(p!.fix).toContain("unibus status exits 0 once every replica is current");
});

test("an offline replica of a member that routes to this node again has not caught up yet", () => {
  const f = healthy({ cluster: round({ behind: [r({ offline: true, lag: 0, activeMs: 0 })] }) });
  expect(run(replicasRule, f).map((p) => p.node)).toEqual(["pi-3"]);
  expect(run(replicasRule, { ...f, routes: f.routes.filter((x) => x.name !== "pi-3") })).toEqual([]);
});
