/** The membership rule: what the membership agent found, and the left marker, as problems with their fixes. */
import { expect, test } from "bun:test";
import { CA_HOLDER_GONE_GRACE_MS, membershipRule } from "../../../lib/diagnosis/rules/membership.ts";
import type { MembershipState } from "../../../lib/membership/agent.ts";
import { NOW, healthy, joinedMember, run } from "./_facts.ts";

const iso = (ago: number) => new Date(NOW - ago).toISOString();
const state = (s: Partial<MembershipState>): MembershipState => ({ updatedAt: iso(0), ...s });
const failing = (ms: number, worked = true) => state({ ...(worked ? { lastCheckin: { at: iso(ms + 5_000), with: "10.0.0.1:6223" } } : {}), checkinError: "10.0.0.1:6223: connect ECONNREFUSED", checkinFailingSince: iso(ms) });
test.each([
  ["nothing found", healthy(), []],
  ["left", healthy({ left: { cluster: "lab", name: "pi-1", at: iso(0), how: "left" }, membership: state({ renewalFailing: { since: iso(0), error: "x" } }) }), [["member_removed", "broken", "pi-1", "--replace --force"]]],
  ["removed at check-in", healthy({ membership: state({ removed: true }) }), [["member_removed", "broken", "pi-1", "systemctl disable --now unibus"]]],
  ["a second box under pi-3's name", healthy({ membership: state({ conflicts: [{ name: "pi-3", address: "10.0.0.99", at: iso(0) }] }) }), [["duplicate_node_name", "broken", "pi-3", "stop unibus on the box at 10.0.0.99"]]],
  ["certificate from a retired CA", healthy({ membership: state({ caRetired: { since: iso(0), cluster: [] } }) }), [["certificate_from_retired_ca", "broken", "pi-1", "--replace --force"]]],
  ["renewal failing", healthy({ membership: state({ renewalFailing: { since: iso(0), error: "refused" } }) }), [["certificate_renewal_failing", "degraded", "pi-1", "retries every 5 s"]]],
  ["check-ins failing past the grace", healthy({ node: "pi-2", config: joinedMember, membership: failing(CA_HOLDER_GONE_GRACE_MS + 10_000) }), [["no_ca_holder", "degraded", "pi-2", "start unibus on pi-1"]]],
  ["a short outage", healthy({ node: "pi-2", config: joinedMember, membership: failing(20_000) }), []],
  ["a CA holder's own check-ins failing: it never reports itself missing", healthy({ membership: failing(CA_HOLDER_GONE_GRACE_MS + 10_000) }), []],
] as const)("%s", (_, facts, want) => {
  const out = run(membershipRule, facts);
  expect(out.map((p) => [p.kind, p.severity, p.node])).toEqual(want.map(([k, s, n]) => [k, s, n]));
  want.forEach(([, , , w], i) => expect(out[i]!.fix).toContain(w));
});

test("the CA holder gone names it, and what is unavailable", () => {
  const [p] = run(membershipRule, healthy({ node: "pi-2", config: joinedMember, membership: failing(70_000) }));
  expect(p!.cause).toContain("the CA holder pi-1 (10.0.0.1:6223) has not answered this node's check-ins for 70 s");
  expect(p!.cause).toContain("no box can join, no join token can be made and no certificate can be renewed");
});
