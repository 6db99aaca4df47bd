/** The route-auth rule: a refused route secret names the peer and the secret file to copy. */
import { expect, test } from "bun:test";
import { routeAuthRule } from "../../../lib/diagnosis/rules/route-auth.ts";
import { cut, healthy, run } from "./_facts.ts";
import { event } from "./_events.ts";

const refused = event("route_auth_failed", 'authentication error - User "unibus-route"', {}, ["10.0.0.3:6222"]);
test.each([
  ["no refusal", healthy(), undefined],
  ["pi-3 refuses the secret", { ...cut(healthy(), "10.0.0.3:6222"), events: [refused] }, "10.0.0.3:6222"],
  ["with one peer down too, only the named one", { ...cut(healthy(), "10.0.0.2:6222", "10.0.0.3:6222"), events: [refused] }, "10.0.0.3:6222"],
] as const)("%s", (_, facts, who) => {
  const out = run(routeAuthRule, facts);
  if (!who) return expect(out).toEqual([]);
  expect(out).toHaveLength(1);
  expect(out[0]).toMatchObject({ kind: "route_auth_failed", node: who, count: 3 });
  expect(out[0]!.fix).toContain("cluster.secret_file");
});
