/**
 * _facts.ts builds HealthFacts for the rule tables: a healthy three-node
 * cluster member (pi-1 of lab, 10.0.0.1-3:6222) that each case changes in
 * the one place it is about, and `run`, which runs one rule (or every rule,
 * as diagnose does) over them.
 */
import type { UnibusConfig } from "../../../lib/config/load.ts";
import { parseConfigText } from "../../../lib/config/load.ts";
import { parsePeer, type HostPort } from "../../../lib/config/units.ts";
import { diagnose } from "../../../lib/diagnosis/diagnose.ts";
import type { HealthFacts } from "../../../lib/diagnosis/facts.ts";
import type { Problem } from "../../../lib/diagnosis/problem.ts";
import type { Rule, RuleContext } from "../../../lib/diagnosis/rule.ts";
import { freshEvents } from "../../../lib/diagnosis/fresh-events.ts";
import type { ClusterFacts } from "../../../lib/diagnosis/cluster-facts.ts";
import type { MemberRecord } from "../../../lib/membership/members.ts";

/** NOW is the facts' clock (ms). */
export const NOW = Date.parse("2026-12-01T12:00:00Z");

const hp = (s: string) => parsePeer(s) as HostPort;

/** standalone is a node without [cluster]. */
export const standalone: UnibusConfig = parseConfigText('[node]\nname = "pi-1"\ndata_dir = "/tmp/rules"\n', "/etc/unibus/unibus.toml", {});

/** clustered is pi-1 of cluster "lab" with two peers, a CA holder (ca_key). */
export const clustered: UnibusConfig = {
  ...standalone,
  cluster: { name: "lab", listen: hp("0.0.0.0:6222"), joinListen: hp("0.0.0.0:6223"), joinListenSet: false, peers: [hp("10.0.0.1:6222"), hp("10.0.0.2:6222"), hp("10.0.0.3:6222")], self: hp("10.0.0.1:6222"), selfFrom: "peers", routes: [hp("10.0.0.2:6222"), hp("10.0.0.3:6222")] },
  tls: { caCert: "/etc/unibus/certs/ca.pem", caKey: "/etc/unibus/certs/ca-key.pem" },
} as unknown as UnibusConfig;

/** joinedMember is pi-2's config: a member that joined, without the CA key. */
export const joinedMember: UnibusConfig = { ...clustered, tls: { caCert: "/etc/unibus/certs/ca.pem" } } as unknown as UnibusConfig;

/** member is one members.json record. */
export function member(name: string, n: number, extra: Partial<MemberRecord> = {}): MemberRecord {
  return { name, id: name, route: `10.0.0.${n}:6222`, joinedAt: "2026-11-29T00:00:00Z", updatedAt: 1, ...extra };
}

/** healthy is the facts of a healthy clustered pi-1 that leads the meta group; `over` replaces what a case is about. */
export function healthy(over: Partial<HealthFacts> = {}): HealthFacts {
  return {
    config: clustered, node: "pi-1", now: NOW, reachable: true,
    health: { ok: true, detail: "ok" }, metaHealth: { ok: true, detail: "ok" },
    routes: [{ name: "pi-2", address: "10.0.0.2:6222", solicited: true, peer: "10.0.0.2:6222" }, { name: "pi-3", address: "10.0.0.3:6222", solicited: true, peer: "10.0.0.3:6222" }],
    missingPeers: [], strangers: [],
    meta: { leader: "pi-1", clusterSize: 3, peers: [{ name: "pi-1", offline: false, current: true }, { name: "pi-2", offline: false, current: true }, { name: "pi-3", offline: false, current: true }] },
    metaCluster: { leader: "pi-1", cluster_size: 3, replicas: [{ name: "pi-2", current: true }, { name: "pi-3", current: true }] },
    jsz: { ok: true, disabled: false }, jetstreamEnabled: true, leafs: [], events: [], probes: [], nameFromHost: false,
    members: [member("pi-1", 1, { service: "10.0.0.1:6223" }), member("pi-2", 2), member("pi-3", 3)],
    ...over,
  };
}

/** round is one round of the cluster's answers (lib/diagnosis/cluster-facts.ts), empty unless a case fills it. */
export function round(over: Partial<ClusterFacts> = {}): ClusterFacts {
  return { at: NOW, expected: 3, verdicts: [], behind: [], streams: 1, storage: [], answered: ["pi-1", "pi-2", "pi-3"], ...over };
}

/** cut is facts in which the listed peers have no route (as /routez would show it). */
export function cut(f: HealthFacts, ...peers: string[]): HealthFacts {
  return { ...f, routes: f.routes.filter((r) => !peers.includes(r.peer!)), missingPeers: [...f.missingPeers, ...peers] };
}

/** run runs one rule over the facts (with the problems of earlier rules, if given), as diagnose does. */
export function run(rule: Rule, given: object, found: Problem[] = []): Problem[] {
  // The tables are `as const`: their facts are read-only, which rules never mind.
  const f = given as HealthFacts;
  const c: RuleContext = { facts: f, fresh: freshEvents(f), found, explained: new Set() };
  return rule.check(c) as Problem[];
}

/** kinds runs every rule (diagnose) and lists kind/severity/node of what it found. */
export function kinds(f: object): string[] {
  return diagnose(f as HealthFacts).problems.map((p) => `${p.kind}/${p.severity}/${p.node}`);
}
