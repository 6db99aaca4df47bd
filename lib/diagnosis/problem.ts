/**
 * problem.ts is the vocabulary every health surface shares: one Problem per
 * thing that is wrong, naming the node, the cause in plain words and the fix;
 * one Verdict for the whole node; one exit code per verdict. `unibus status`,
 * the admin page, /readyz's reasons and /metrics all print these same objects,
 * so they cannot disagree.
 */

import type { ProblemOf } from "./rule.ts";
import type { ProblemKind } from "./rules.ts";

export type { Severity } from "./rule.ts";
export { PROBLEM_KINDS, type ProblemKind } from "./rules.ts";

/** Verdict is the node's health in one word. */
export type Verdict = "healthy" | "degraded" | "broken";

/** Problem is one thing wrong with the node or its cluster, said so that a user can act on it: one of the kinds the rules declare (lib/diagnosis/rules.ts). */
export type Problem = ProblemOf<ProblemKind>;

/** Diagnosis is the verdict and the problems behind it. */
export interface Diagnosis { verdict: Verdict; node: string; problems: Problem[]; checkedAt: string }

/**
 * STATUS_EXIT maps a verdict to `unibus status`'s exit code: 0 healthy,
 * 3 degraded (the bus works, something needs attention), 4 broken (clients
 * or JetStream writes fail). 1 and 2 keep their meaning for every command
 * (runtime failure, usage or config error).
 */
export const STATUS_EXIT: Record<Verdict, number> = { healthy: 0, degraded: 3, broken: 4 };

/** verdictOf is the worst severity among the problems, or healthy when there are none. */
export function verdictOf(problems: Problem[]): Verdict {
  if (problems.some((p) => p.severity === "broken")) return "broken";
  return problems.length ? "degraded" : "healthy";
}

/** verdictLine is the one line every surface leads with. */
export function verdictLine(d: Diagnosis): string {
  if (d.verdict === "healthy") return `HEALTHY: node ${d.node} is healthy; no problems`;
  const broken = d.problems.filter((p) => p.severity === "broken").length;
  const counts = [broken ? `${broken} broken` : "", d.problems.length - broken ? `${d.problems.length - broken} degraded` : ""].filter(Boolean).join(", ");
  return `${d.verdict.toUpperCase()}: node ${d.node}, ${counts}: ${d.problems[0]!.cause}`;
}

/** repeatText says "14 times, last 3 s ago" for a cause nats-server keeps repeating. */
export function repeatText(p: Problem, now = Date.now()): string {
  if (!p.count) return "";
  const ago = p.lastSeen ? Math.max(0, Math.round((now - Date.parse(p.lastSeen)) / 1000)) : undefined;
  return `${p.count} time${p.count === 1 ? "" : "s"}${ago !== undefined ? `, last ${ago} s ago` : ""}`;
}
