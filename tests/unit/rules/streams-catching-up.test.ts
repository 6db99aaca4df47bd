/** The streams-catching-up rule: a node's streams lagging past the grace, never while the meta rule speaks. */
import { expect, test } from "bun:test";
import { STREAM_CATCHUP_GRACE_MS, streamsCatchingUpRule } from "../../../lib/diagnosis/rules/streams-catching-up.ts";
import { healthy, run } from "./_facts.ts";

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
