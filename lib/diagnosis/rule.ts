/**
 * rule.ts is what a diagnosis rule is: a module that looks at one snapshot's
 * HealthFacts and names what is wrong, with the cause and the fix. Rules are
 * listed once, in lib/diagnosis/rules.ts, the way config sections and admin
 * panels are; diagnose() runs them in order and the problem-kind type is
 * derived from the kinds they declare. A rule reads facts only (no files, no
 * network, no clock beyond facts.now), so each has a table test.
 */
import type { HealthFacts } from "./facts.ts";
import type { NatsEvent, NatsEventKind } from "./nats-events.ts";
import { clusterQuorum } from "./quorum.ts";
import type { ProblemOf, Severity } from "./problem-of.ts";

export type { ProblemOf, Severity } from "./problem-of.ts";

/** RuleContext is what a rule sees: the facts, the fresh nats events, the problems earlier rules found, and the peers they explained. */
export interface RuleContext {
  facts: HealthFacts;
  /** nats-server's events that still count: no older than EVENT_FRESH_MS, and not ended by a link that came up since (fresh-events.ts). */
  fresh: NatsEvent[];
  /** Problems found by the rules before this one (cause before consequence). */
  found: readonly ProblemOf<string>[];
  /** Missing peers (addresses) an earlier rule explained; the unreachable-peer rule names only the rest. */
  explained: Set<string>;
}

/** Rule is one diagnosis rule: the kinds it can report and the check that reports them. */
export interface Rule<K extends string = string> {
  /** A short name for tests and the registry. */
  name: string;
  kinds: readonly K[];
  check(c: RuleContext): ProblemOf<K>[];
}

/** defineRule keeps a rule's kinds as literal types, so the registry can derive the kind union from them. */
export function defineRule<const K extends string>(rule: Rule<K>): Rule<K> {
  return rule;
}

/** EVENT_FRESH_MS: a nats error older than this no longer describes the present. */
export const EVENT_FRESH_MS = 30_000;

/** withEvidence copies nats-server's words and repeat count onto a problem. */
export function withEvidence<K extends string>(p: ProblemOf<K>, evs: NatsEvent[]): ProblemOf<K> {
  if (!evs.length) return p;
  // The line that names the cause (with its facts) speaks better than "connection closed".
  const telling = evs.filter((e) => Object.keys(e.detail).length);
  const latest = (telling.length ? telling : evs).reduce((a, b) => (b.lastSeen > a.lastSeen ? b : a));
  return { ...p, evidence: latest.text, count: evs.reduce((n, e) => n + e.count, 0), lastSeen: new Date(latest.lastSeen).toISOString() };
}

/** eventsOf keeps the events of the given kinds. */
export function eventsOf(events: NatsEvent[], ...kinds: NatsEventKind[]): NatsEvent[] {
  return events.filter((e) => kinds.includes(e.kind));
}

/** peersNamedBy lists the configured missing peers a set of events was seen with (solicited routes carry the peer's address). */
export function peersNamedBy(f: HealthFacts, evs: NatsEvent[]): string[] {
  const addrs = new Set(evs.flatMap((e) => e.addresses));
  return f.missingPeers.filter((p) => addrs.has(p));
}

/** routeSeverity: a route problem is degraded while this node still reaches a majority (quorum.ts), broken once it does not. */
export function routeSeverity(f: HealthFacts): Severity {
  return clusterQuorum(f).majority ? "degraded" : "broken";
}

/** probeOf is the route-port probe of a missing peer, if it was probed. */
export function probeOf(f: HealthFacts, peer: string) {
  return f.probes.find((p) => p.address === peer);
}

/** describePeer names a peer "name (address)" when its probe or certificate says its name, else by address. */
export function describePeer(f: HealthFacts, peer: string): string {
  const probe = probeOf(f, peer);
  // A peer that refuses this node's certificate never sends its INFO; its own certificate still names it.
  const name = probe?.serverName ?? /CN=([^,\s]+)/.exec(probe?.certSubject ?? "")?.[1];
  return name && name !== f.node ? `${name} (${peer})` : peer;
}
