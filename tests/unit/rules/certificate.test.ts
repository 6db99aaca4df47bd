/** The certificate rule: unreadable, expired, expiring, each with the renewal path that fits the node. */
import { expect, test } from "bun:test";
import { certificateRule } from "../../../lib/diagnosis/rules/certificate.ts";
import { NOW, healthy, run } from "./_facts.ts";

const DAY = 86_400_000;
const cert = (days: number, selfRenewing = true) => ({ file: "/var/lib/unibus/tls/node.pem", caFile: "/etc/unibus/certs/ca.pem", notAfter: new Date(NOW + days * DAY).toISOString(), daysLeft: days, selfRenewing });
test.each([
  ["fresh", healthy({ certificate: cert(300) }), undefined],
  ["unreadable", healthy({ certificate: { ...cert(300), error: "cannot read the node certificate x: EACCES" } }), ["certificate_unreadable", "broken", "EACCES"]],
  ["expired, CA holder", healthy({ certificate: cert(-3) }), ["certificate_expired", "broken", "issues a new certificate from the CA"]],
  ["expiring, cannot renew", healthy({ certificate: cert(10, false) }), ["certificate_expiring", "degraded", "unibus cert issue"]],
] as const)("%s", (_, facts, want) => {
  const out = run(certificateRule, facts);
  if (!want) return expect(out).toEqual([]);
  expect(out.map((p) => [p.kind, p.severity])).toEqual([[want[0], want[1]]]);
  expect(`${out[0]!.cause} ${out[0]!.fix}`).toContain(want[2]);
});
