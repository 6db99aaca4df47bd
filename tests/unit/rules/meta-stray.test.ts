/**
 * The meta-stray rule: an offline server the meta group counts although it
 * is no current member (removed, or known only by a peer id no member has)
 * is a degraded problem naming `unibus remove`; an offline member is not.
 */
import { expect, test } from "bun:test";
import { metaStrayRule } from "../../../lib/diagnosis/rules/meta-stray.ts";
import { raftPeerId } from "../../../lib/natsd/raft-peer-id.ts";
import { healthy, member, run } from "./_facts.ts";
import type { MetaCluster } from "../../../lib/natsd/monitoring-types.ts";

const unknown = (name: string) => `Server name unknown at this time (peerID: ${raftPeerId(name)})`;
const members = [member("pi-1", 1), member("pi-2", 2), member("pi-3", 3), member("pi-4", 4, { removed: true }), member("pi-5", 5)];
test.each([
  ["every offline server a member", { leader: "pi-1", cluster_size: 4, replicas: [{ name: unknown("pi-5"), current: false, offline: true }, { name: "pi-3", current: false, offline: true }] }, []],
  ["a removed member and a ghost", { leader: "pi-1", cluster_size: 6, replicas: [{ name: unknown("pi-4"), current: false, offline: true }, { name: unknown("ghost"), current: false, offline: true }, { name: "pi-3", current: false }] }, [["pi-4", "majority to 4 of 6", "unibus remove pi-4"], [unknown("ghost"), `peer id ${raftPeerId("ghost")}`, "unibus remove NAME"]]],
] as const)("%s", (_, metaCluster, want) => {
  const out = run(metaStrayRule, healthy({ members, metaCluster: metaCluster as unknown as MetaCluster }));
  expect(out.map((p) => p.node)).toEqual(want.map(([n]) => n));
  want.forEach(([, cause, fix], i) => {
    expect(out[i]).toMatchObject({ kind: "meta_stray_peer", severity: "degraded" });
    expect(out[i]!.cause).toContain(cause);
    expect(out[i]!.fix).toContain(fix);
  });
});

test("strays that cost the meta group its leader are broken, and the fix is recover (remove needs a leader)", () => {
  // Found on the bed: a cluster of one after recover counted its two removed servers again (they came back for seconds).
  const meta = { cluster_size: 3, replicas: [{ name: "pi-4", current: false, offline: true }] } as unknown as MetaCluster;
  const out = run(metaStrayRule, healthy({ members, metaCluster: meta }));
  expect(out.map((p) => [p.severity, p.node])).toEqual([["broken", "pi-4"]]);
  expect(out[0]!.cause).toContain("JetStream has no meta leader");
  expect(out[0]!.fix).toContain("sudo unibus recover");
  expect(out[0]!.fix).not.toContain("sudo unibus remove pi-4");
});
