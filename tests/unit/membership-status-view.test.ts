/**
 * The members list and the meta-group warnings as `unibus status` shows
 * them, from a real members.json: a follower cannot know whether another
 * follower is current (nats reports false), so it shows "?", never
 * "lagging"; a server known only by RAFT peer id is matched to its member;
 * a member with no route from this node is "unreachable", never "lagging".
 * (The stray-peer and CA-holder problems are rule tables: tests/unit/rules.)
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import type { UnibusConfig } from "../../lib/config/load.ts";
import type { MemberRecord } from "../../lib/membership/members.ts";
import { dataDirLayout } from "../../lib/data-dir.ts";
import { memberViews } from "../../lib/membership/status-view.ts";
import { withLeaderMetaView, withUnreachable, type ClusterStatus } from "../../lib/cluster/status.ts";
import { formatStatus } from "../../lib/cli/status.ts";
import type { ClusterFacts } from "../../lib/diagnosis/cluster-facts.ts";
import { raftPeerId } from "../../lib/natsd/raft-peer-id.ts";
import { tempDir } from "../_helpers.ts";

const dir = tempDir("unibus-members-view-");
afterAll(() => dir[Symbol.dispose]());

const member = (name: string, removed = false): MemberRecord => ({ name, id: name, route: `10.0.0.${name.at(-1)}:6222`, joinedAt: "2026-11-29T00:00:00Z", updatedAt: 1, ...(removed ? { removed } : {}) });
writeFileSync(dataDirLayout(dir.path).members, JSON.stringify({ members: [{ ...member("pi-1"), service: "10.0.0.4:6223" }, member("pi-2"), member("pi-3"), member("pi-4", true), member("pi-5")] }));
const config = { node: { name: "pi-2", dataDir: dir.path }, cluster: { name: "lab3", routes: [] }, tls: {} } as unknown as UnibusConfig;
const unknown = (name: string) => `Server name unknown at this time (peerID: ${raftPeerId(name)})`;

describe("members as a follower sees them", () => {
  test("healthy followers are '?', a powered-off one offline, the leader leader, this node current", () => {
    const meta = { leader: "pi-1", cluster_size: 4, replicas: [
      { name: "pi-1", current: true },
      { name: "pi-3", current: false, lag: 0 },
      { name: unknown("pi-5"), current: false, offline: true },
    ] };
    const views = Object.fromEntries(memberViews(config, meta).map((v) => [v.name, v.meta]));
    expect(views).toEqual({ "pi-1": "leader", "pi-2": "current", "pi-3": "?", "pi-4": "removed", "pi-5": "offline" });
  });

  test("the leader still says lagging about a follower it knows is behind", () => {
    const meta = { leader: "pi-2", cluster_size: 3, replicas: [{ name: "pi-1", current: true }, { name: "pi-3", current: false }] };
    expect(memberViews(config, meta).find((v) => v.name === "pi-3")!.meta).toBe("lagging");
  });
});

describe("a follower fills its '?' from the meta leader's answer in the cluster round", () => {
  const meta = { leader: "pi-1", cluster_size: 4, replicas: [{ name: "pi-1", current: true }, { name: "pi-3", current: false, lag: 0 }, { name: "pi-5", current: false, lag: 0 }] };
  const round = (over: Partial<ClusterFacts>): ClusterFacts => ({ at: 0, expected: 4, verdicts: [], behind: [], streams: 0, storage: [], answered: ["pi-1", "pi-2", "pi-3", "pi-5"], ...over });
  const behind = (replica: string, offline: boolean) => ({ stream: "", account: "", leader: "pi-1", replica, current: false, offline, lag: 3 });
  const metaOf = (c: ClusterFacts | undefined) => Object.fromEntries(withLeaderMetaView(memberViews(config, meta), c, "pi-1").map((v) => [v.name, v.meta]));

  test("what the leader reports: pi-3 lagging, pi-5 offline, the rest current (the bed's power-cut pi-2 was '?' on the others)", () => {
    expect(metaOf(round({ behind: [behind("pi-3", false), behind("pi-5", true)] }))).toEqual({ "pi-1": "leader", "pi-2": "current", "pi-3": "lagging", "pi-4": "removed", "pi-5": "offline" });
  });
  test("a leader that reports nobody behind: every '?' is current", () => {
    expect(metaOf(round({}))).toMatchObject({ "pi-3": "current", "pi-5": "current" });
  });
  test("no round, a failed round, or a leader that did not answer: '?' stays, never a guess", () => {
    for (const c of [undefined, round({ error: "no system account" }), round({ answered: ["pi-2", "pi-3"] })]) {
      expect(metaOf(c)).toMatchObject({ "pi-3": "?", "pi-5": "?" });
    }
  });
});

describe("a member with no route from this node (a power-cut box before gossip marks it offline)", () => {
  // On the bed: hub-3's power cut, 15-20 s later hub-1 (leader) said "meta lagging" and
  // "hub-3 behind on the meta group (0 ops, heard 15 s ago)" beside its MISSING route.
  const views = memberViews(config, { leader: "pi-2", cluster_size: 4, replicas: [{ name: "pi-1", current: true }, { name: "pi-3", current: false }, { name: "pi-5", current: false, offline: true }] });
  const route = (name: string) => member(name).route;

  test("lagging or '?' with its route missing is unreachable; offline and current stay as they are", () => {
    const meta = Object.fromEntries(withUnreachable(views, [route("pi-3"), route("pi-5")]).map((v) => [v.name, v.meta]));
    expect(meta).toEqual({ "pi-1": "current", "pi-2": "leader", "pi-3": "unreachable", "pi-4": "removed", "pi-5": "offline" });
    expect(withUnreachable(views, []).find((v) => v.name === "pi-3")!.meta).toBe("lagging");
    // Seconds after the cut the leader still calls it current: no route is still unreachable. The leader itself stays leader.
    expect(withUnreachable(views, [route("pi-1"), route("pi-2")]).map((v) => v.meta).slice(0, 2)).toEqual(["unreachable", "leader"]);
  });

  test("status says the member is out of reach, once however many replicas it holds, and a live laggard behind", () => {
    const behind = (stream: string, replica: string, activeMs: number) => ({ stream, account: "APP", leader: "pi-2", replica, current: false, offline: false, lag: 0, activeMs });
    const s: ClusterStatus = {
      node: "pi-2", cluster: "lab3", reachable: true, health: { ok: true, detail: "ok" }, expectedPeers: [route("pi-3")], missingPeers: [route("pi-3")], metaOffline: [], leafs: [],
      routes: [{ peerName: "pi-3", address: route("pi-3"), peer: route("pi-3"), connected: false }],
      members: withUnreachable(views, [route("pi-3")]),
      clusterHealth: { expected: 4, verdicts: [], streams: 2, storage: [], behind: [behind("", "pi-3", 15_000), behind("ORDERS", "pi-3", 17_000), { ...behind("KV_cfg", "pi-1", 2_000), lag: 40 }] },
      verdict: "healthy", problems: [], healthy: true, checkedAt: new Date(0).toISOString(),
    } as unknown as ClusterStatus;
    const text = formatStatus(s, 0);
    expect(text).toContain("replicas      2 streams led; pi-3 out of reach (no route from this node; 2 replicas not current, last heard 15 s ago); pi-1 behind on KV_cfg (40 ops, heard 2 s ago)");
    expect(text).not.toContain("pi-3 behind");
    expect(text).toMatch(/pi-3 +10\.0\.0\.3:6222 +member .* meta unreachable/);
  });
});
