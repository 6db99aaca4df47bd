/**
 * problem.ts is the vocabulary every health surface shares: one Problem per
 * thing that is wrong, naming the node, the cause in plain words and the fix;
 * one Verdict for the whole node; one exit code per verdict. `unibus status`,
 * the admin page, /readyz's reasons and /metrics all print these same objects,
 * so they cannot disagree.
 */

/** Severity says whether the bus still works (degraded) or does not (broken) because of a problem. */
export type Severity = "degraded" | "broken";

/** Verdict is the node's health in one word. */
export type Verdict = "healthy" | "degraded" | "broken";

/**
 * ProblemKind names each class of problem; /metrics exposes one labelled
 * gauge per kind, so an alert can say what is wrong without parsing text.
 */
export type ProblemKind =
  | "nats_not_running"
  | "cluster_name_mismatch"
  | "duplicate_node_name"
  | "route_auth_failed"
  | "peer_unreachable"
  | "stranger_route"
  | "meta_no_leader"
  | "cluster_too_small"
  | "meta_incomplete"
  | "jetstream_not_current"
  | "leaf_down"
  | "leaf_tls_untrusted"
  | "leaf_auth_failed"
  | "certificate_expired"
  | "certificate_expiring"
  | "certificate_unreadable"
  | "ca_mismatch"
  | "disk_too_small"
  | "member_removed"
  | "certificate_renewal_failing"
  | "no_ca_holder"
  | "config_not_applied"
  | "certificate_from_retired_ca"
  | "meta_stray_peer";

/** PROBLEM_KINDS lists every kind, so /metrics can report 0 for the ones that are absent. */
export const PROBLEM_KINDS: readonly ProblemKind[] = [
  "nats_not_running", "cluster_name_mismatch", "duplicate_node_name", "route_auth_failed", "peer_unreachable", "stranger_route", "meta_no_leader", "cluster_too_small", "meta_incomplete", "jetstream_not_current",
  "leaf_down", "leaf_tls_untrusted", "leaf_auth_failed", "certificate_expired", "certificate_expiring",
  "certificate_unreadable", "ca_mismatch", "disk_too_small", "member_removed", "certificate_renewal_failing", "no_ca_holder", "config_not_applied", "certificate_from_retired_ca", "meta_stray_peer",
];

/** Problem is one thing wrong with the node or its cluster, said so that a user can act on it. */
export interface Problem {
  kind: ProblemKind;
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
