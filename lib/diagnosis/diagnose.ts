/**
 * diagnose.ts turns HealthFacts into a Diagnosis: every problem the node can
 * see, each naming the node that must change, the cause in plain words (from
 * nats-server's own errors and the peers' own INFO, never a guess when those
 * say more) and the fix (which key, which file, which command). It runs the
 * rules of lib/diagnosis/rules.ts in order over one snapshot's facts: a pure
 * function, so every surface agrees and tests need no network.
 */
import type { HealthFacts } from "./facts.ts";
import { verdictOf, type Diagnosis, type Problem } from "./problem.ts";
import { freshEvents } from "./fresh-events.ts";
import type { RuleContext } from "./rule.ts";
import { RULES } from "./rules.ts";

/** diagnose computes the verdict and the problems behind it; the first problem is the headline (broken before degraded, else in rule order). */
export function diagnose(f: HealthFacts): Diagnosis {
  const found: Problem[] = [];
  const context: RuleContext = { facts: f, fresh: freshEvents(f), found, explained: new Set() };
  for (const rule of RULES) found.push(...rule.check(context));
  // Stable: within a severity, cause before consequence as the rules found them.
  const problems = [...found].sort((a, b) => Number(b.severity === "broken") - Number(a.severity === "broken"));
  return { verdict: verdictOf(problems), node: f.node, problems, checkedAt: new Date(f.now).toISOString() };
}
