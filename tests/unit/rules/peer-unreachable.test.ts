/** The peer-unreachable rule: each missing peer no earlier rule explained, with why; degraded with a majority, broken without. */
import { expect, test } from "bun:test";
import { peerUnreachableRule } from "../../../lib/diagnosis/rules/peer-unreachable.ts";
import { kinds, cut, healthy, run } from "./_facts.ts";
import { event } from "./_events.ts";

test.each([
  ["every route up", healthy(), []],
  ["pi-3 refuses connections", { ...cut(healthy(), "10.0.0.3:6222"), probes: [{ address: "10.0.0.3:6222", reachable: false, error: "connect ECONNREFUSED" }] }, [["degraded", "10.0.0.3:6222", ": connect ECONNREFUSED"]]],
  ["pi-3's port answers without a route", { ...cut(healthy(), "10.0.0.3:6222"), probes: [{ address: "10.0.0.3:6222", reachable: true, serverName: "pi-3" }] }, [["degraded", "pi-3 (10.0.0.3:6222)", "no route formed yet"]]],
  ["both peers gone: no majority", cut(healthy(), "10.0.0.2:6222", "10.0.0.3:6222"), [["broken", "10.0.0.2:6222", "no route to peer"], ["broken", "10.0.0.3:6222", "no route to peer"]]],
] as const)("%s", (_, facts, want) => {
  const out = run(peerUnreachableRule, facts);
  expect(out.map((p) => [p.severity, p.node])).toEqual(want.map(([s, n]) => [s, n]));
  want.forEach(([, , w], i) => expect(out[i]!.cause).toContain(w));
});

test("a peer an earlier rule explained is not named again", () => {
  const f = { ...cut(healthy(), "10.0.0.3:6222"), events: [event("route_auth_failed", "authentication error", {}, ["10.0.0.3:6222"])] };
  expect(kinds(f).filter((k) => k.startsWith("peer_unreachable"))).toEqual([]);
});

test("the fix names the peer's route port to open and the cluster.peers entry to check", () => {
  const out = run(peerUnreachableRule, { ...cut(healthy(), "10.0.0.3:6222"), probes: [{ address: "10.0.0.3:6222", reachable: false, error: "connect ECONNREFUSED" }] });
  expect(out[0]!.fix).toContain("make sure unibus runs there (systemctl status unibus), that its route port 6222 is reachable from this node, and that cluster.peers in");
});

test("a missing peer the members list knows is named, with how to take it out if it will not come back", () => {
  // Found on the bed: `unibus join --out DIR` never installed left "no route to peer 10.x.x.14:6222", naming no member.
  const out = run(peerUnreachableRule, { ...cut(healthy(), "10.0.0.3:6222"), probes: [{ address: "10.0.0.3:6222", reachable: false, error: "connect ECONNREFUSED" }] });
  expect(out[0]!.cause).toContain("member pi-3 in the members list");
  expect(out[0]!.fix).toContain("unibus remove pi-3");
});

test("without a majority the fix for members gone for good is unibus recover, not unibus remove (which then refuses)", () => {
  // Found on the bed: two of three boxes power-cut, status on the survivor said "unibus remove hub-2", and that refused.
  const out = run(peerUnreachableRule, cut(healthy(), "10.0.0.2:6222", "10.0.0.3:6222"));
  expect(out.map((p) => p.severity)).toEqual(["broken", "broken"]);
  for (const p of out) {
    expect(p.fix).toContain("sudo unibus recover on this box");
    expect(p.fix).not.toContain("unibus remove pi-");
  }
});
