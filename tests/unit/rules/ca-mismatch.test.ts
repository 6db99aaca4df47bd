/** The ca-mismatch rule: a peer with another CA is named; a node every peer refuses is told to take the cluster's CA. */
import { expect, test } from "bun:test";
import { caMismatchRule } from "../../../lib/diagnosis/rules/ca-mismatch.ts";
import { cut, healthy, run } from "./_facts.ts";
import { event } from "./_events.ts";

test.each([
  ["trusted peers", healthy(), undefined],
  ["a probe does not trust pi-3", { ...cut(healthy(), "10.0.0.3:6222"), probes: [{ address: "10.0.0.3:6222", reachable: true, certSubject: "CN=pi-3", trusted: false }] }, ["degraded", "pi-3 (10.0.0.3:6222)", "presents a certificate from a different CA"]],
  ["every route fails TLS", { ...cut(healthy(), "10.0.0.2:6222", "10.0.0.3:6222"), events: [event("route_tls_untrusted", "TLS route handshake error: x509: certificate signed by unknown authority (CN=pi-2 SHA-256: 5b)")] }, ["broken", "pi-1", "give this node the cluster's CA"]],
] as const)("%s", (_, facts, want) => {
  const out = run(caMismatchRule, facts);
  if (!want) return expect(out).toEqual([]);
  expect(out.map((p) => [p.kind, p.severity, p.node])).toEqual([["ca_mismatch", want[0], want[1]]]);
  expect(`${out[0]!.cause} ${out[0]!.fix}`).toContain(want[2]);
});
