/**
 * problem-of.ts is the shape of one diagnosed problem, apart from the rules
 * (rule.ts) and the facts (facts.ts) so that the cluster-wide facts, which
 * carry the problems other members reported, need neither: the diagnosis
 * modules form no import circle.
 */

/** Severity says whether the bus still works (degraded) or does not (broken) because of a problem. */
export type Severity = "degraded" | "broken";

/** ProblemOf is one problem of kind K, said so that a user can act on it (lib/diagnosis/problem.ts names the union). */
export interface ProblemOf<K extends string> {
  kind: K;
  severity: Severity;
  /** The node that has to change (this node's name, a peer's name or address). */
  node: string;
  /** What is wrong, in plain words. */
  cause: string;
  /** What to do: which key in which file, or which command. */
  fix: string;
  /** nats-server's own words, when the cause came from its log. */
  evidence?: string;
  /** How often nats-server said it, and when it last did (ISO time). */
  count?: number;
  lastSeen?: string;
}
