/**
 * member-verdicts.ts is the rule that makes every member's own verdict part
 * of this node's: a member that judges itself degraded or broken (a config
 * not applied, a certificate renewal failing, its streams catching up) is
 * named on every node with its own cause and fix, so `unibus status` on any
 * member is the cluster's status. Members answer from their own view only,
 * so verdicts never echo between nodes.
 */
import { defineRule } from "../rule.ts";

/** memberVerdictsRule reports member_unhealthy for each other member whose own verdict is not healthy. */
export const memberVerdictsRule = defineRule({
  name: "member-verdicts",
  kinds: ["member_unhealthy"],
  check({ facts: f, found }) {
    // What this node already says (a peer down, no meta leader) the others say too: only their own news counts.
    const known = new Set(found.map((p) => p.kind));
    return (f.cluster?.verdicts ?? []).filter((v) => v.node !== f.node && v.verdict !== "healthy").flatMap((v) => {
      const news = v.problems.filter((p) => !known.has(p.kind));
      if (!news.length) return [];
      const [first, ...rest] = news;
      const more = rest.length ? ` (and ${rest.length} more: unibus status on ${v.node} lists them)` : "";
      return [{
        kind: "member_unhealthy" as const, severity: "degraded" as const, node: v.node,
        cause: `${v.node} judges itself ${v.verdict.toUpperCase()}: ${first!.cause}${more}`,
        fix: `on ${v.node}: ${first!.fix}`,
      }];
    });
  },
});
