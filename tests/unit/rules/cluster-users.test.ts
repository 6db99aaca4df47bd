/** The cluster-users rule: a replica cut off from its system account, or a member whose copy keeps differing, for longer than the grace. */
import { expect, test } from "bun:test";
import { clusterUsersRule } from "../../../lib/diagnosis/rules/cluster-users.ts";
import { NOW, healthy, run } from "./_facts.ts";

const ago = (ms: number) => new Date(NOW - ms).toISOString();

test.each([
  ["in step", healthy({ access: { differing: [], users: 2 } }), undefined],
  ["no record (an older node)", healthy(), undefined],
  ["cut off briefly (a restart)", healthy({ access: { disconnectedSince: ago(10_000), error: "connecting", differing: [], users: 2 } }), undefined],
  ["cut off", healthy({ access: { disconnectedSince: ago(45_000), error: "connection refused", differing: [], users: 2 } }), ["pi-1", "45 s (connection refused): it admits the 2 users it knew", "journal"]],
  ["a copy differing for a moment (a change on its way)", healthy({ access: { differing: [{ node: "pi-2", since: ago(5_000), lastHeard: ago(1_000) }], users: 2 } }), undefined],
  ["a copy that keeps differing", healthy({ access: { differing: [{ node: "pi-2", since: ago(60_000), lastHeard: ago(4_000) }], users: 2 } }), ["pi-2", "differed from pi-1's for 60 s", "unibus user list on pi-1 and pi-2"]],
  ["a differing member no longer heard from", healthy({ access: { differing: [{ node: "pi-2", since: ago(120_000), lastHeard: ago(60_000) }], users: 2 } }), undefined],
  ["the node is not running", healthy({ reachable: false, access: { disconnectedSince: ago(600_000), differing: [], users: 2 } }), undefined],
] as const)("%s", (_, facts, want) => {
  const out = run(clusterUsersRule, facts);
  if (!want) return expect(out).toEqual([]);
  expect(out).toHaveLength(1);
  expect(out[0]).toMatchObject({ kind: "cluster_users_stale", severity: "degraded", node: want[0] });
  expect(out[0]!.cause).toContain(want[1]);
  expect(out[0]!.fix).toContain(want[2]);
});
