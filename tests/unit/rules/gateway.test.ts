/** The gateway rule: a link to another site that is down is named, with what the cut means for this shape's JetStream and since when. */
import { expect, test } from "bun:test";
import { gatewayRule } from "../../../lib/diagnosis/rules/gateway.ts";
import type { UnibusConfig } from "../../../lib/config/load.ts";
import { healthy, run, standalone } from "./_facts.ts";
import { event } from "./_events.ts";

const hp = (host: string, port: number) => ({ host, port, text: `${host}:${port}` });
const gateway = (site: string | undefined, remote: string, host: string) => ({ ...(site ? { site } : {}), listen: hp("0.0.0.0", 7222), secret: { source: "file x", key: "secret_file", value: "s" }, remotes: [{ name: remote, urls: [hp(host, 7222)] }] });
const siteA = { ...standalone, gateway: gateway("site-a", "site-b", "10.2.0.1") } as unknown as UnibusConfig;
const siteB = { ...standalone, gateway: gateway("site-b", "site-a", "10.1.0.1") } as unknown as UnibusConfig;
const shared = { ...standalone, gateway: gateway(undefined, "site-b", "10.2.0.1") } as unknown as UnibusConfig;
const base = { routes: [], members: [] };
test.each([
  ["independent site, its leaf link to the other site up", healthy({ ...base, config: siteA, leafs: [{ name: "b-1", address: "10.2.0.1:7222", solicited: true }] }), []],
  ["independent site, the link it dials is down", healthy({ ...base, config: siteA }), [["gateway_down", "the gateway to site site-b is down; this site (site-a) keeps its own JetStream"]]],
  ["down since the link closed", healthy({ ...base, config: siteA, events: [event("link_closed", "Leafnode connection closed: Stale Connection", { via: "leaf", reason: "Stale Connection" }, ["10.2.0.1:7222"], 90_000)] }), [["gateway_down", "is down since 2026-12-01T11:58:30Z (90 s)"]]],
  ["the site that is dialed, its inbound link up", healthy({ ...base, config: siteB, leafs: [{ name: "a-1", address: "10.1.0.1:40112", solicited: false }] }), []],
  ["the site that is dialed, nobody dials", healthy({ ...base, config: siteB }), [["gateway_down", "the gateway to site site-a is down"]]],
  ["an edge-like dialed link does not count for the site that waits", healthy({ ...base, config: siteB, leafs: [{ name: "x", address: "10.9.0.1:7422", solicited: true }] }), [["gateway_down", "site-a"]]],
  ["one supercluster, outbound gateway up", healthy({ ...base, config: shared, gateways: [{ cluster: "site-b", outbound: true, name: "b-1", start: "2026-12-01T11:00:00Z" }] }), []],
  ["one supercluster, only an inbound gateway: this side cannot send", healthy({ ...base, config: shared, gateways: [{ cluster: "site-b", outbound: false, name: "b-1" }] }), [["gateway_down", "cannot create streams, KV buckets or consumers"]]],
  ["a member of the dialed site's cluster without a link of its own cannot tell: no problem", healthy({ config: { ...siteB, cluster: { name: "site-b", routes: [{ host: "10.2.0.2", port: 6222, text: "10.2.0.2:6222" }] } } as unknown as UnibusConfig }), []],
  ["nats not reachable: the nats rule speaks, not this one", healthy({ ...base, config: siteA, reachable: false }), []],
] as const)("%s", (_, facts, want) => {
  const out = run(gatewayRule, facts);
  expect(out.map((p) => p.kind)).toEqual(want.map(([k]) => k));
  want.forEach(([, w], i) => expect(out[i]!.cause).toContain(w));
  for (const p of out) expect(p.severity).toBe("degraded");
});

test("the fix of a supercluster's down gateway points at independent sites", () => {
  const [p] = run(gatewayRule, healthy({ ...base, config: shared }));
  expect(p!.fix).toContain('[gateway] site = "NAME"');
  const [q] = run(gatewayRule, healthy({ ...base, config: siteB }));
  expect(q!.fix).toContain("site-a dials this site");
});
