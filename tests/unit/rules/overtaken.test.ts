/**
 * A route or leaf error ends as soon as a link to the same remote comes up
 * after it (lib/diagnosis/fresh-events.ts), in every rule that reads such
 * errors; a link to another remote ends nothing, and the 30 s window stays
 * the fallback.
 */
import { expect, test } from "bun:test";
import type { UnibusConfig } from "../../../lib/config/load.ts";
import type { HealthFacts, RouteFact } from "../../../lib/diagnosis/facts.ts";
import type { NatsEvent } from "../../../lib/diagnosis/nats-events.ts";
import type { Rule } from "../../../lib/diagnosis/rule.ts";
import { caMismatchRule } from "../../../lib/diagnosis/rules/ca-mismatch.ts";
import { clusterNameRule } from "../../../lib/diagnosis/rules/cluster-name.ts";
import { duplicateNameRule } from "../../../lib/diagnosis/rules/duplicate-name.ts";
import { leafRule } from "../../../lib/diagnosis/rules/leaf.ts";
import { peerUnreachableRule } from "../../../lib/diagnosis/rules/peer-unreachable.ts";
import { routeAuthRule } from "../../../lib/diagnosis/rules/route-auth.ts";
import { NOW, cut, healthy, run, standalone } from "./_facts.ts";
import { event } from "./_events.ts";

const PI3 = "10.0.0.3:6222";
/** The errors each route rule reads, seen 1 s before NOW from pi-3's route address. */
const ROUTE_RULES: [Rule, NatsEvent][] = [
  [routeAuthRule, event("route_auth_failed", 'authentication error - User "unibus-route"', {}, [PI3])],
  [caMismatchRule, event("route_tls_untrusted", "TLS route handshake error: x509: certificate signed by unknown authority", {}, [PI3])],
  [clusterNameRule, event("cluster_name_mismatch", 'Rejecting connection, cluster name "home" does not match "lab"', { remote: "home", local: "lab" }, [PI3])],
  [duplicateNameRule, event("duplicate_node_name", 'Remote server has a duplicate name: "pi-1"', { name: "pi-1" }, [PI3])],
  [peerUnreachableRule, event("route_connect_failed", "Error trying to connect to route (attempt N): dial tcp 10.0.0.3:6222: connect: connection refused", { error: "connection refused" }, [PI3])],
];

/** upSince gives the routes of `f` to the listed peers a connect time `agoMs` before NOW. */
function upSince(f: HealthFacts, agoMs: number, ...peers: string[]): HealthFacts {
  return { ...f, routes: f.routes.map((r): RouteFact => (peers.includes(r.peer!) ? { ...r, since: NOW - agoMs } : r)) };
}

for (const [rule, error] of ROUTE_RULES) {
  // peer-unreachable names missing peers only: a route to the peer ends it whatever the errors say.
  const routed = rule === peerUnreachableRule;
  test.each([
    ["a fresh error while the peer's route is down is a problem", upSince(cut(healthy({ events: [error] }), PI3), 500, "10.0.0.2:6222"), true],
    ["a route to that peer that came up after the error ends it", upSince(healthy({ events: [error] }), 500, PI3), false],
    ["a route to that peer the peer dialed (ephemeral port) ends it too", { ...healthy({ events: [{ ...error, addresses: ["10.0.0.3:51234"] }] }), routes: [{ name: "pi-2", address: "10.0.0.2:6222", solicited: true, peer: "10.0.0.2:6222" }, { name: "pi-3", address: "10.0.0.3:40000", solicited: false, peer: PI3, since: NOW - 500 }] }, false],
    ["a route to another peer that came up later ends nothing", upSince(cut(healthy({ events: [error] }), PI3), 500, "10.0.0.2:6222"), true],
    ["a route to that peer older than the error ends nothing", upSince(healthy({ events: [{ ...error, addresses: ["10.0.0.3:51234"] }] }), 5_000, PI3), !routed],
  ] as const)(`${rule.name}: %s`, (_, facts, problem) => {
    const out = run(rule, facts);
    if (!problem) return expect(out).toEqual([]);
    expect(out.length).toBeGreaterThan(0);
    expect(out[0]!.count).toBe(3);
  });
}

test("on one loopback address a route from another node ends nothing: the dialing peers cannot be told apart", () => {
  const lo = { ...healthy(), routes: [{ name: "pi-2", address: "127.0.0.1:40000", solicited: false, peer: "127.0.0.1:6232", since: NOW - 500 }], missingPeers: ["127.0.0.1:6242"] };
  const out = run(routeAuthRule, { ...lo, events: [event("route_auth_failed", "authentication error", {}, ["127.0.0.1:51234"])] });
  expect(out).toHaveLength(1);
});

const hub = { ...standalone, leafnodes: { remotes: [], listen: { text: "0.0.0.0:7422" } } } as unknown as UnibusConfig;
const refused = event("leaf_auth_failed", 'authentication error - User "leaf"', { side: "accepting" }, ["192.168.1.50:51000"]);
const leafUp = (ip: string) => event("link_up", "Leafnode connection created", { via: "leaf" }, [`${ip}:52000`], 500);
test.each([
  ["an edge refused a moment ago is a problem", [], [refused], 1],
  ["that edge's leaf came up after the refusal: over", [{ address: "192.168.1.50:52000", solicited: false }], [refused, leafUp("192.168.1.50")], 0],
  ["another edge's leaf came up after it: still a problem", [{ address: "192.168.1.60:52000", solicited: false }], [refused, leafUp("192.168.1.60")], 1],
] as const)("leaf (hub side): %s", (_, leafs, events, n) => {
  const out = run(leafRule, healthy({ config: hub, routes: [], members: [], leafs: [...leafs], events: [...events] }));
  expect(out).toHaveLength(n);
});

/** A refusal `agoMs` before NOW whose first sighting was `firstAgoMs` before NOW. */
function since(e: NatsEvent, firstAgoMs: number): NatsEvent {
  return { ...e, firstSeen: NOW - firstAgoMs };
}
const nameRefusal = event("cluster_name_mismatch", 'Rejecting connection, cluster name "home" does not match "lab"', { remote: "home", local: "lab" }, [PI3], 8_000);
const secretRefusal = (from: string) => since(event("route_auth_failed", "authentication error", {}, [from]), 5_000);
test.each([
  ["the same peer refused for its secret since: the old name is over", [nameRefusal, secretRefusal("10.0.0.3:51234")], 0],
  ["another peer refused for its secret: the name still counts", [nameRefusal, secretRefusal("10.0.0.2:51234")], 1],
  ["both causes interleave (each seen while the other was): both count", [nameRefusal, since(secretRefusal(PI3), 20_000)], 1],
] as const)("cluster-name, superseded by another cause: %s", (_, events, n) => {
  expect(run(clusterNameRule, { ...cut(healthy(), PI3), events: [...events] })).toHaveLength(n);
});
