/** The leaf rule: a down uplink says why (untrusted hub, refused secret, no connection); a hub names an edge with the wrong secret. */
import { expect, test } from "bun:test";
import { leafRule } from "../../../lib/diagnosis/rules/leaf.ts";
import type { UnibusConfig } from "../../../lib/config/load.ts";
import { NOW, healthy, run, standalone } from "./_facts.ts";
import { event } from "./_events.ts";
import { classifyNatsLine } from "../../../lib/diagnosis/nats-events.ts";

const url = { text: "tls://hub.lan:7422", host: "hub.lan", port: 7422 };
const edge = { ...standalone, leafnodes: { remotes: [{ urls: [url], label: url.text, user: "leaf" }] } } as unknown as UnibusConfig;
const hub = { ...standalone, leafnodes: { remotes: [], listen: { text: "0.0.0.0:7422" } } } as unknown as UnibusConfig;
const base = { config: edge, routes: [], members: [] };
test.each([
  ["uplink up", healthy({ ...base, leafs: [{ address: "hub.lan:7422", solicited: true }] }), []],
  ["down, no cause known", healthy(base), [["leaf_down", "the leaf uplink to tls://hub.lan:7422 is down"]]],
  ["down: core messages are dropped, not kept", healthy(base), [["leaf_down", "core NATS messages to and from the hub are dropped"]]],
  ["up on a hub node the hub gossiped (not a configured URL)", healthy({ ...base, leafs: [{ name: "hub-3", address: "10.0.0.13:7422", solicited: true }] }), []],
  ["down, hub untrusted", healthy({ ...base, events: [event("leaf_tls_untrusted", "x509: certificate signed by unknown authority", { url: "hub.lan:7422" })] }), [["leaf_tls_untrusted", "this remote has no ca_file"]]],
  ["down, secret refused, a cause said once long ago still counts", healthy({ ...base, events: [event("leaf_auth_failed", "Leafnode Error 'Authorization Violation'", { side: "dialing" }, [], 600_000)] }), [["leaf_auth_failed", 'refuses this node\'s user "leaf"']]],
  ["a hub refusing an edge", healthy({ config: hub, routes: [], members: [], events: [event("leaf_auth_failed", 'authentication error - User "leaf"', { side: "accepting" }, ["192.168.1.50:51000"])] }), [["leaf_auth_failed", "an edge at 192.168.1.50"]]],
  ["a hub's old refusal is gone", healthy({ config: hub, routes: [], members: [], now: NOW + 120_000, events: [event("leaf_auth_failed", "x", { side: "accepting" }, ["192.168.1.50:1"])] }), []],
] as const)("%s", (_, facts, want) => {
  const out = run(leafRule, facts);
  expect(out.map((p) => p.kind)).toEqual(want.map(([k]) => k));
  want.forEach(([, w], i) => expect(out[i]!.cause).toContain(w));
});

test("an enrolled edge that does not trust its hub is pointed at its check-ins and, after a finished rotation, at enrolling again", () => {
  const enrolled = { ...standalone, node: { ...standalone.node, dataDir: "/nonexistent-data" }, leafnodes: { remotes: [{ urls: [url], label: url.text, user: "leaf", caFile: "/etc/unibus/certs/ca.pem", certFile: "/etc/unibus/certs/node.pem", keyFile: "/etc/unibus/certs/node-key.pem" }] } } as unknown as UnibusConfig;
  const out = run(leafRule, healthy({ config: enrolled, routes: [], members: [], events: [event("leaf_tls_untrusted", "x509: certificate signed by unknown authority", { url: "hub.lan:7422" })] }));
  expect(out.map((p) => p.kind)).toEqual(["leaf_tls_untrusted"]);
  expect(out[0]!.cause).toContain("/etc/unibus/certs/ca.pem is not the CA that issued it");
  expect(out[0]!.fix).toContain('the "hub check-in" line of unibus status');
  expect(out[0]!.fix).toContain("--edge --name");
});

test("an enrolled edge refused by the hub is not told to set a secret it does not use, nor is the hub that enrolls edges", () => {
  // Found on the bed: an edge enrolled with install.sh --join --edge was refused by its home hub node for its
  // first seconds (the key had not reached it yet), and both sides said to set the hub's [leafnodes] secret.
  const enrolled = { ...standalone, leafnodes: { remotes: [{ urls: [url], label: url.text, user: "leaf", nkey: { value: "SU…" } }] } } as unknown as UnibusConfig;
  const edgeSide = run(leafRule, healthy({ config: enrolled, routes: [], members: [], events: [event("leaf_auth_failed", "Leafnode Error 'Authorization Violation'", { side: "dialing" })] }));
  expect(edgeSide[0]!.cause).toContain("refuses this edge's own key");
  expect(edgeSide[0]!.fix).not.toContain("secret_file");
  expect(edgeSide[0]!.fix).toContain("--edge --name");
  const enrolling = { ...hub, leafnodes: { ...hub.leafnodes, enroll: true } } as unknown as UnibusConfig;
  const hubSide = run(leafRule, healthy({ config: enrolling, routes: [], members: [], events: [event("leaf_auth_failed", "authentication error", { side: "accepting" }, ["10.0.0.14:51000"])] }));
  expect(hubSide[0]!.fix).toContain("enrolled moments ago");
  expect(hubSide[0]!.fix).toContain("unibus edge list");
});

test("an edge the hub removed says so, not the connect error of a hub node that is down", () => {
  // Found on the bed: after unibus edge remove, with one hub node of its uplink's list dead, the edge said
  // "check that the hub runs" (the dead node's "no route to host" was the freshest error).
  const enrolled = { ...standalone, leafnodes: { remotes: [{ urls: [url], label: url.text, user: "leaf", nkey: { value: "SU…" } }] } } as unknown as UnibusConfig;
  const out = run(leafRule, healthy({ config: enrolled, routes: [], members: [], edgeRemoved: true, events: [
    event("leaf_auth_failed", "Leafnode Error 'Authorization Violation'", { side: "dialing" }, [], 5_000),
    event("leaf_connect_failed", "dial tcp 10.0.0.13:7422: connect: no route to host", { url: "hub.lan:7422", error: "no route to host" }),
  ] }));
  expect(out.map((p) => p.kind)).toEqual(["leaf_auth_failed"]);
  expect(out[0]!.cause).toContain("the hub removed this edge");
  expect(out[0]!.fix).toContain("--edge --name");
});

test("a hub names an edge removed with unibus edge remove that still dials in, by the key nats says it refused", () => {
  // Found on the bed: after unibus edge remove edge-shed, the box kept dialing every 2 s and two hub nodes said
  // "an edge at 10.220.209.16 tries to connect … with a secret or user this hub does not accept" and told to enroll it again.
  const key = "UD57X3HTNMNBYA36CP2C6BI5TSXUXMCG75V53XZIRUIXJFQMCBYZXYSG";
  const line = classifyNatsLine(`10.0.0.16:43948 - lid:54 - authentication error - Nkey "${key}"`);
  expect(line).toMatchObject({ kind: "leaf_auth_failed", detail: { side: "accepting", nkey: key } });
  const enrolling = { ...hub, leafnodes: { ...hub.leafnodes, enroll: true } } as unknown as UnibusConfig;
  const events = [
    event("leaf_auth_failed", line!.text, line!.detail, ["10.0.0.16:43948"]),
    event("leaf_auth_failed", "Leafnode connection closed: Authentication Failure", { side: "accepting" }, ["10.0.0.16:43948"]),
    event("leaf_auth_failed", "authentication error - Nkey \"UOTHER\"", { side: "accepting", nkey: "UOTHER" }, ["10.0.0.17:4000"]),
  ];
  const out = run(leafRule, healthy({ config: enrolling, routes: [], members: [], removedEdges: [{ name: "edge-shed", nkey: key }], events }));
  expect(out.map((p) => p.node)).toEqual(["edge-shed", "10.0.0.17"]);
  expect(out[0]!.cause).toBe('edge "edge-shed" at 10.0.0.16 was removed (unibus edge remove) and still dials this hub with its old key; every hub node refuses it');
  expect(out[0]!.fix).toContain("sudo systemctl disable --now unibus");
  expect(out[0]!.fix).toContain("--edge --name edge-shed --replace --force");
  expect(out[1]!.cause).toContain("an edge at 10.0.0.17 tries to connect");
});
