/** The config-drift rule: a file changed since the node loaded it, and a reload the node refused. */
import { expect, test } from "bun:test";
import { configDriftRule } from "../../../lib/diagnosis/rules/config-drift.ts";
import { NOW, healthy, run } from "./_facts.ts";

test.each([
  ["in force", healthy(), undefined],
  ["changed, not reloaded", healthy({ drift: { appliedAt: NOW - 60_000 } }), ["the change is not in force yet", "reload unibus"]],
  ["refused, needs a restart", healthy({ drift: { appliedAt: NOW - 60_000, refused: "cluster.listen changed: restart unibus to apply it" } }), ["refused it at its last reload", "sudo systemctl restart unibus"]],
  ["refused, bad value", healthy({ drift: { appliedAt: NOW - 60_000, refused: "client.listen: bad port" } }), ["bad port", "config check"]],
] as const)("%s", (_, facts, want) => {
  const out = run(configDriftRule, facts);
  if (!want) return expect(out).toEqual([]);
  expect(out[0]).toMatchObject({ kind: "config_not_applied", severity: "degraded", node: "pi-1" });
  expect(out[0]!.cause).toContain(want[0]);
  expect(out[0]!.fix).toContain(want[1]);
});
