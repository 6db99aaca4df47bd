/**
 * `unibus edge list` rows: a removed edge says when it was removed (on the
 * bed it said "removed since" its enrollment time), an enrolled one its home
 * hub node.
 */
import { expect, test } from "bun:test";
import { edgeListLine } from "../../lib/cli/edge.ts";

const base = { name: "edge-shed", nkey: "UABC", enrolledAt: "2026-12-07T12:02:30.589Z", certNotAfter: "2028-01-08T12:02:30.000Z", home: "10.0.0.12:7422" };

test("a removed edge shows when it was removed and when it enrolled", () => {
  const line = edgeListLine({ ...base, removed: true, updatedAt: Date.parse("2026-12-07T12:04:31.087Z") });
  expect(line).toBe("edge-shed            removed   2026-12-07T12:04:31.087Z (enrolled 2026-12-07T12:02:30.589Z)  certificate until 2028-01-08T12:02:30.000Z");
});

test("an enrolled edge shows since when and its home hub node", () => {
  expect(edgeListLine({ ...base, updatedAt: 1 })).toBe("edge-shed            enrolled  since 2026-12-07T12:02:30.589Z  home 10.0.0.12:7422  certificate until 2028-01-08T12:02:30.000Z");
});

test("an enrolled edge with a second choice names it after home", () => {
  expect(edgeListLine({ ...base, fallback: "10.0.0.13:7422", updatedAt: 1 })).toBe("edge-shed            enrolled  since 2026-12-07T12:02:30.589Z  home 10.0.0.12:7422  then 10.0.0.13:7422  certificate until 2028-01-08T12:02:30.000Z");
});
