/**
 * The page's cluster picture draws every configured peer: a peer that never
 * routed (its route refused: another CA, another cluster name) stays on it
 * even when the meta group lists a server nats knows only by peer id, which
 * used to take its place in the count; nats's placeholder name is never
 * drawn.
 */
import { expect, test } from "bun:test";
import { buildClusterView } from "../../lib/admin/cluster-view.ts";
import type { Snapshot } from "../../lib/natsd/snapshot.ts";
import { raftPeerId } from "../../lib/natsd/raft-peer-id.ts";
import { clustered } from "./rules/_facts.ts";

const ok = <T>(data: T) => ({ ok: true as const, data });
const snapshot = {
  at: 0, healthz: { ok: true, detail: "" }, metaHealthz: { ok: true, detail: "" },
  varz: ok({ server_name: "pi-1" }), connz: ok({}), leafz: ok({}),
  routez: ok({ routes: [{ rid: 1, remote_id: "N2", remote_name: "pi-2", ip: "10.0.0.2", port: 6222 }] }),
  jsz: ok({ meta_cluster: { leader: "pi-1", cluster_size: 3, replicas: [{ name: "pi-2", current: true }, { name: `Server name unknown at this time (peerID: ${raftPeerId("old-box")})`, current: false, offline: true }] } }),
} as unknown as Snapshot;
const quorum = { clustered: true, size: 3, reached: 1, need: 1, majority: true };

test("a refused peer stays in the picture beside a server known only by peer id", () => {
  const v = buildClusterView(snapshot, clustered, quorum);
  expect(v.nodes.map((n) => [n.name, n.up])).toEqual([["pi-1", true], ["pi-2", true], ["10.0.0.3:6222", false]]);
  expect(v.nodes.some((n) => /unknown at this time/.test(n.name))).toBe(false);
});

test("a refused peer whose route port said its name is drawn under that name", () => {
  const v = buildClusterView(snapshot, clustered, quorum, undefined, new Map([["10.0.0.3:6222", "pi-3"]]));
  expect(v.nodes.find((n) => !n.up)).toMatchObject({ name: "pi-3", address: "10.0.0.3:6222" });
});
