/** The stranger-route rule: a route to a server that is not in cluster.peers. */
import { expect, test } from "bun:test";
import { strangerRouteRule } from "../../../lib/diagnosis/rules/stranger-route.ts";
import { healthy, run } from "./_facts.ts";

test.each([
  ["only peers", healthy(), []],
  ["pi-9 routes in unlisted", healthy({ strangers: [{ name: "pi-9", address: "10.0.0.9:6222", solicited: false }] }), ["pi-9"]],
  ["an unnamed stranger is named by address", healthy({ strangers: [{ address: "10.0.0.8:40000", solicited: false }] }), ["10.0.0.8:40000"]],
] as const)("%s", (_, facts, nodes) => {
  const out = run(strangerRouteRule, facts);
  expect(out.map((p) => p.node)).toEqual([...nodes]);
  for (const p of out) expect(p).toMatchObject({ kind: "stranger_route", severity: "degraded" });
});
