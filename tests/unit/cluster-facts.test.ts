/**
 * One round of the cluster's answers read as facts: each stream's replica
 * view is taken from its leader only (a follower reports other followers as
 * not current because it does not know), storage per server, and nats's
 * "Server name unknown at this time" placeholder becomes the member's name
 * or "unknown", never the placeholder.
 */
import { expect, test } from "bun:test";
import { clusterFactsOf, memberName, type JszAnswer } from "../../lib/diagnosis/cluster-facts.ts";
import { raftPeerId } from "../../lib/natsd/raft-peer-id.ts";

const members = ["pi-1", "pi-2", "pi-3"];
const placeholder = (n: string) => `Server name unknown at this time (peerID: ${raftPeerId(n)})`;
const stream = (leader: string, replicas: { name: string; current: boolean; lag?: number; active?: number }[]) => ({ name: "ORDERS", cluster: { leader, replicas }, state: { messages: 0, bytes: 0, first_seq: 0, last_seq: 0, consumer_count: 0 } });
const answer = (name: string, s: ReturnType<typeof stream>, storage = 0): JszAnswer => ({ server: { name }, data: { storage, config: { max_storage: 1000 }, account_details: [{ name: "$G", stream_detail: [s] }] } });

test("the leader's view counts; a follower's 'not current' about another follower does not", () => {
  const f = clusterFactsOf(0, 3, [], [
    answer("pi-1", stream("pi-1", [{ name: "pi-2", current: true }, { name: placeholder("pi-3"), current: false, lag: 4000, active: 250_000_000 }]), 950),
    answer("pi-2", stream("pi-1", [{ name: "pi-1", current: true }, { name: "pi-3", current: false, lag: 0 }]), 10),
  ], members);
  expect(f.streams).toBe(1);
  expect(f.behind).toEqual([{ stream: "ORDERS", account: "$G", leader: "pi-1", replica: "pi-3", current: false, offline: false, lag: 4000, activeMs: 250 }]);
  expect(f.storage).toEqual([{ node: "pi-1", used: 950, max: 1000 }, { node: "pi-2", used: 10, max: 1000 }]);
  expect(f.answered).toEqual(["pi-1", "pi-2"]);
});

test("a replica its leader never heard from (nats: active 0, elected after the box died) has no 'heard' time, not 0 s", () => {
  const f = clusterFactsOf(0, 3, [], [answer("pi-1", stream("pi-1", [{ name: "pi-2", current: false, lag: 106, active: 0 }, { name: "pi-3", current: true, active: 0 }]))], members);
  expect(f.behind).toEqual([{ stream: "ORDERS", account: "$G", leader: "pi-1", replica: "pi-2", current: false, offline: false, lag: 106 }]);
});

test("a placeholder names the member with its peer id, or says unknown", () => {
  expect(memberName(placeholder("pi-2"), members)).toBe("pi-2");
  expect(memberName(placeholder("ghost"), members)).toBe("unknown");
  expect(memberName("pi-3", members)).toBe("pi-3");
});

test("the meta group's placeholders reach status as the member, or as unknown", async () => {
  const { metaPeers } = await import("../../lib/diagnosis/meta-view.ts");
  const meta = { leader: "pi-1", replicas: [{ name: placeholder("pi-2"), current: false, offline: true }, { name: placeholder("ghost"), current: false, offline: true }] };
  expect(metaPeers("pi-1", meta, (n) => memberName(n, members)).map((p) => p.name)).toEqual(["pi-1", "pi-2", "unknown"]);
  expect(metaPeers("pi-1", meta).map((p) => p.name)).toEqual(["pi-1", "unknown"]);
});
