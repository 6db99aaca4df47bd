/**
 * rules.ts is the list of diagnosis rules, in the order diagnose() runs them:
 * cause before consequence (nats itself, then routes, then JetStream, then
 * what lies beside them). Adding a problem kind is one rule module plus one
 * line here (and its line in README's list of problem kinds); ProblemKind
 * and PROBLEM_KINDS are derived from the kinds the rules declare.
 */
import { backupRule } from "./rules/backup.ts";
import { caMismatchRule } from "./rules/ca-mismatch.ts";
import { certificateRule } from "./rules/certificate.ts";
import { clusterNameRule } from "./rules/cluster-name.ts";
import { clusterUsersRule } from "./rules/cluster-users.ts";
import { configDriftRule } from "./rules/config-drift.ts";
import { diskRule } from "./rules/disk.ts";
import { duplicateNameRule } from "./rules/duplicate-name.ts";
import { jetstreamMetaRule } from "./rules/jetstream-meta.ts";
import { jetstreamRestoringRule } from "./rules/jetstream-restoring.ts";
import { leafRule } from "./rules/leaf.ts";
import { gatewayRule } from "./rules/gateway.ts";
import { fleetRule } from "./rules/fleet.ts";
import { memberVerdictsRule } from "./rules/member-verdicts.ts";
import { replicasRule } from "./rules/replicas.ts";
import { storageRule } from "./rules/storage.ts";
import { membershipRule } from "./rules/membership.ts";
import { metaStrayRule } from "./rules/meta-stray.ts";
import { mqttStreamsRule } from "./rules/mqtt-streams.ts";
import { mqttTopicRule } from "./rules/mqtt-topic.ts";
import { natsRule } from "./rules/nats.ts";
import { peerUnreachableRule } from "./rules/peer-unreachable.ts";
import { routeAuthRule } from "./rules/route-auth.ts";
import { strangerRouteRule } from "./rules/stranger-route.ts";
import { streamsCatchingUpRule } from "./rules/streams-catching-up.ts";

/** RULES lists every diagnosis rule; the route-cause rules come before peer-unreachable, which names only the peers they left unexplained. */
export const RULES = [
  jetstreamRestoringRule,
  natsRule,
  clusterNameRule,
  duplicateNameRule,
  caMismatchRule,
  routeAuthRule,
  peerUnreachableRule,
  strangerRouteRule,
  jetstreamMetaRule,
  streamsCatchingUpRule,
  leafRule,
  gatewayRule,
  fleetRule,
  mqttTopicRule,
  certificateRule,
  diskRule,
  metaStrayRule,
  membershipRule,
  clusterUsersRule,
  configDriftRule,
  backupRule,
  // What the whole cluster said (lib/diagnosis/cluster-facts.ts): the same on every member.
  replicasRule,
  storageRule,
  mqttStreamsRule,
  memberVerdictsRule,
] as const;

/**
 * ProblemKind names each class of problem; /metrics exposes one labelled
 * gauge per kind, so an alert can say what is wrong without parsing text.
 */
export type ProblemKind = (typeof RULES)[number]["kinds"][number];

/** PROBLEM_KINDS lists every kind once, so /metrics can report 0 for the ones that are absent. */
export const PROBLEM_KINDS: readonly ProblemKind[] = [...new Set(RULES.flatMap((r): readonly ProblemKind[] => r.kinds))];
