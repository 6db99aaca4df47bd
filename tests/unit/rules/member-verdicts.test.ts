/** The member-verdicts rule: another member's own non-healthy verdict is named here with its cause and fix; this node's own answer is not repeated. */
import { expect, test } from "bun:test";
import { memberVerdictsRule } from "../../../lib/diagnosis/rules/member-verdicts.ts";
import type { MemberVerdict } from "../../../lib/diagnosis/cluster-facts.ts";
import { healthy, round, run } from "./_facts.ts";

const v = (node: string, verdict: MemberVerdict["verdict"], causes: string[] = []): MemberVerdict => ({ node, verdict, checkedAt: "", problems: causes.map((c) => ({ kind: "config_not_applied", severity: "degraded", node, cause: c, fix: "apply it: sudo unibus reload" })) });
test.each([
  ["everyone healthy", [v("pi-1", "healthy"), v("pi-2", "healthy")], []],
  ["pi-2 has a config not applied", [v("pi-2", "degraded", ["the file changed"])], [["pi-2", "pi-2 judges itself DEGRADED: the file changed", "on pi-2: apply it: sudo unibus reload"]]],
  ["this node's own answer is its own diagnosis already", [v("pi-1", "degraded", ["x"])], []],
  ["more than one problem", [v("pi-3", "broken", ["a", "b", "c"])], [["pi-3", "(and 2 more: unibus status on pi-3 lists them)", "on pi-3"]]],
] as const)("%s", (_, verdicts, want) => {
  const out = run(memberVerdictsRule, healthy({ cluster: round({ verdicts: verdicts as unknown as MemberVerdict[] }) }));
  expect(out.map((p) => [p.kind, p.severity, p.node])).toEqual(want.map(([n]) => ["member_unhealthy", "degraded", n]));
  want.forEach(([, cause, fix], i) => {
    expect(out[i]!.cause).toContain(cause);
    expect(out[i]!.fix).toContain(fix);
  });
});

test("a problem this node already reports (a peer down, seen from everywhere) is not repeated as the other's news", () => {
  const down = { kind: "peer_unreachable" as const, severity: "degraded" as const, node: "pi-3", cause: "no route to peer pi-3", fix: "start it" };
  const f = healthy({ cluster: round({ verdicts: [{ node: "pi-2", verdict: "degraded", checkedAt: "", problems: [down] }] }) });
  expect(run(memberVerdictsRule, f, [down])).toEqual([]);
  expect(run(memberVerdictsRule, f, [])).toHaveLength(1);
});
