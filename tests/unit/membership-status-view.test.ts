/**
 * The members list and the meta-group warnings as `unibus status` shows
 * them, from a real members.json: a follower cannot know whether another
 * follower is current (nats reports false), so it shows "?", never
 * "lagging"; a server known only by RAFT peer id is matched to its member;
 * and an offline server the meta group still counts without being a current
 * member is a degraded problem naming `unibus remove`.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import type { UnibusConfig } from "../../lib/config/load.ts";
import type { MemberRecord } from "../../lib/membership/members.ts";
import { dataDirLayout } from "../../lib/data-dir.ts";
import { memberViews, membershipProblems, strayMetaProblems } from "../../lib/membership/status-view.ts";
import { raftPeerId } from "../../lib/natsd/raft-peer-id.ts";
import { tempDir } from "../_helpers.ts";

const dir = tempDir("unibus-members-view-");
afterAll(() => dir[Symbol.dispose]());

const member = (name: string, removed = false): MemberRecord => ({ name, id: name, route: `10.0.0.${name.length}:6222`, joinedAt: "2026-11-29T00:00:00Z", updatedAt: 1, ...(removed ? { removed } : {}) });
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

describe("servers the meta group counts that are no member", () => {
  test("a removed member still in the group, and an unknown peer id, are degraded problems naming unibus remove", () => {
    const meta = { leader: "pi-1", cluster_size: 6, replicas: [
      { name: "pi-1", current: true },
      { name: unknown("pi-4"), current: false, offline: true },
      { name: unknown("ghost"), current: false, offline: true },
      { name: "pi-3", current: false },
    ] };
    const problems = strayMetaProblems(config, meta);
    expect(problems.map((p) => [p.kind, p.severity, p.node])).toEqual([["meta_stray_peer", "degraded", "pi-4"], ["meta_stray_peer", "degraded", unknown("ghost")]]);
    expect(problems[0]!.cause).toContain("majority to 4 of 6");
    expect(problems[0]!.fix).toContain("unibus remove pi-4");
    expect(problems[1]!.cause).toContain(`peer id ${raftPeerId("ghost")}`);
  });

  test("an offline current member is not one (other problems report it)", () => {
    const meta = { leader: "pi-1", cluster_size: 4, replicas: [{ name: "pi-1", current: true }, { name: unknown("pi-5"), current: false, offline: true }, { name: "pi-3", current: false, offline: true }] };
    expect(strayMetaProblems(config, meta)).toEqual([]);
  });
});

describe("the CA holder gone", () => {
  const state = (failingForMs: number, lastCheckin = true) => writeFileSync(dataDirLayout(dir.path).membershipState, JSON.stringify({
    updatedAt: new Date().toISOString(),
    ...(lastCheckin ? { lastCheckin: { at: new Date(Date.now() - failingForMs - 5_000).toISOString(), with: "10.0.0.4:6223" } } : {}),
    checkinError: "10.0.0.4:6223: connect ECONNREFUSED", checkinFailingSince: new Date(Date.now() - failingForMs).toISOString(),
  }));

  test("check-ins that worked and fail for more than 60 s are degraded, naming the CA holder and what is unavailable", () => {
    state(70_000);
    const p = membershipProblems(config).find((x) => x.kind === "no_ca_holder");
    expect(p?.severity).toBe("degraded");
    expect(p?.cause).toContain("the CA holder pi-1 (10.0.0.4:6223) has not answered this node's check-ins for 70 s");
    expect(p?.cause).toContain("no box can join, no join token can be made and no certificate can be renewed");
    expect(p?.fix).toContain("start unibus on pi-1");
  });

  test("a short outage (a restart) is not a problem yet", () => {
    state(20_000);
    expect(membershipProblems(config).filter((x) => x.kind === "no_ca_holder")).toEqual([]);
  });
});
