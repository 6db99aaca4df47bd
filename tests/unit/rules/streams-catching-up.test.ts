/** The streams-catching-up rule: a node's streams lagging past the grace, never while the meta rule speaks. */
import { expect, test } from "bun:test";
import { STREAM_CATCHUP_GRACE_MS, streamsCatchingUpRule } from "../../../lib/diagnosis/rules/streams-catching-up.ts";
import { healthy, member, run } from "./_facts.ts";

const behind = { health: { ok: false, detail: "JetStream stream 'ORDERS > ORDERS' is not current" } };
test.each([
  ["current", healthy(), false],
  ["behind within the grace", healthy({ ...behind, streamsBehindMs: STREAM_CATCHUP_GRACE_MS - 1 }), false],
  ["behind past the grace", healthy({ ...behind, streamsBehindMs: STREAM_CATCHUP_GRACE_MS + 5_000 }), true],
  ["behind, no history (one status call)", healthy(behind), true],
  ["behind while not current with the meta leader (the meta rule speaks)", healthy({ ...behind, metaHealth: { ok: false, detail: "x" } }), false],
] as const)("%s", (_, facts, named) => {
  const out = run(streamsCatchingUpRule, facts);
  expect(out.length).toBe(named ? 1 : 0);
  if (named) expect(out[0]).toMatchObject({ kind: "jetstream_not_current", severity: "degraded", cause: expect.stringContaining("ORDERS") });
});

test("the survivor of unibus recover (a meta group of one) is told to join boxes, not to wait", () => {
  const alone = healthy({
    health: { ok: false, detail: "JetStream stream '$G > $MQTT_out' is not current: group node missing" }, streamsBehindMs: 112_000,
    meta: { leader: "pi-1", clusterSize: 1, peers: [{ name: "pi-1", offline: false, current: true }] },
    metaCluster: { leader: "pi-1", cluster_size: 1, replicas: [] },
  });
  const out = run(streamsCatchingUpRule, alone);
  expect(out.length).toBe(1);
  expect(out[0]!.cause).toContain("run on this one until new boxes join");
  expect(out[0]!.cause).not.toContain("catching up");
  expect(out[0]!.fix).toContain("token create");
  expect(out[0]!.fix).not.toMatch(/^wait/);
});

test("members taken out by recover that nats still lists leave the survivor alone; a live member does not", () => {
  const detail = { ok: false, detail: "JetStream stream '$G > ORDERS' is not current: group node missing" };
  const peers = [{ name: "pi-1", offline: false, current: true }, { name: "pi-2", offline: true, current: false }, { name: "pi-3", offline: true, current: false }];
  const removed = [member("pi-1", 1), member("pi-2", 2, { removed: true }), member("pi-3", 3, { removed: true })];
  const lingering = run(streamsCatchingUpRule, healthy({ health: detail, meta: { leader: "pi-1", clusterSize: 3, peers }, members: removed }));
  expect(lingering[0]!.fix).toContain("token create");
  const live = run(streamsCatchingUpRule, healthy({ health: detail, meta: { leader: "pi-1", clusterSize: 3, peers }, members: [member("pi-1", 1), member("pi-2", 2), member("pi-3", 3, { removed: true })] }));
  expect(live[0]!.fix).toMatch(/^wait/);
});
