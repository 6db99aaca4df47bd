/**
 * The certificate's "expires soon" is decided once (lib/pki/expiry.ts):
 * the day it starts and ends is the same for the page's certificate panel,
 * the diagnosis (`certificate_expiring`) and `unibus status`'s "(renew soon)".
 */
import { describe, expect, test } from "bun:test";
import { certView } from "../../lib/admin/panels/certificate.tsx";
import { formatStatus } from "../../lib/cli/status.ts";
import type { ClusterStatus } from "../../lib/cluster/status.ts";
import { parseConfigText } from "../../lib/config/load.ts";
import { diagnose } from "../../lib/diagnosis/diagnose.ts";
import type { HealthFacts } from "../../lib/diagnosis/facts.ts";
import { CERT_WARN_DAYS, certificateExpiry, type NodeIdentity } from "../../lib/pki/index.ts";

const DAY = 86_400_000;
const now = Date.parse("2026-11-29T12:00:00Z");
const config = parseConfigText('[node]\nname = "n1"\ndata_dir = "/tmp/x"\n', "/tmp/x/node.toml", {});

function identity(days: number): NodeIdentity {
  return { subject: "CN=n1", issuer: "CN=CA", sans: [], notAfter: new Date(now + days * DAY), renewAt: new Date(now), notBefore: new Date(now - DAY), daysLeft: days } as unknown as NodeIdentity;
}

function diagnosedKinds(days: number): string[] {
  const notAfter = new Date(now + days * DAY).toISOString();
  const facts: HealthFacts = {
    config, node: "n1", now, reachable: true, health: { ok: true, detail: "ok" }, routes: [], missingPeers: [], strangers: [],
    jsz: { ok: true, disabled: true }, jetstreamEnabled: false, leafs: [], events: [], probes: [], nameFromHost: false, members: [],
    certificate: { file: "/tmp/x/tls/node.pem", subject: "CN=n1", notAfter, daysLeft: certificateExpiry(Date.parse(notAfter), now).daysLeft, caFile: "/tmp/x/ca.pem", selfRenewing: false },
  };
  return diagnose(facts).problems.map((p) => p.kind);
}

function statusText(days: number): string {
  const s: ClusterStatus = {
    node: "n1", reachable: true, health: { ok: true, detail: "ok" }, routes: [], expectedPeers: [], missingPeers: [], metaOffline: [], leafs: [],
    certificate: { file: "/tmp/x/tls/node.pem", subject: "CN=n1", notAfter: new Date(now + days * DAY).toISOString(), daysLeft: days, caFile: "/tmp/x/ca.pem", selfRenewing: false },
    verdict: "healthy", problems: [], healthy: true, checkedAt: new Date(now).toISOString(),
  };
  return formatStatus(s, now);
}

describe("the certificate's expiry warning", () => {
  test("starts CERT_WARN_DAYS before the end and turns into EXPIRED once it has passed", () => {
    expect(CERT_WARN_DAYS).toBe(30);
    expect(certificateExpiry(now + CERT_WARN_DAYS * DAY, now)).toEqual({ daysLeft: CERT_WARN_DAYS, expired: false, expiresSoon: false });
    expect(certificateExpiry(now + (CERT_WARN_DAYS - 1) * DAY, now)).toEqual({ daysLeft: CERT_WARN_DAYS - 1, expired: false, expiresSoon: true });
    expect(certificateExpiry(now, now)).toMatchObject({ expired: true, expiresSoon: false });
    expect(certificateExpiry(now - 3 * DAY, now)).toEqual({ daysLeft: -3, expired: true, expiresSoon: false });
  });

  test("the page, the diagnosis and unibus status agree on the day it starts", () => {
    const soon = CERT_WARN_DAYS - 1;
    expect(certView(identity(soon), now).warning).toBe(`the certificate expires in ${soon} days`);
    expect(diagnosedKinds(soon)).toEqual(["certificate_expiring"]);
    expect(statusText(soon)).toContain(`${soon} days left (renew soon)`);

    expect(certView(identity(CERT_WARN_DAYS), now).warning).toBeUndefined();
    expect(diagnosedKinds(CERT_WARN_DAYS)).toEqual([]);
    expect(statusText(CERT_WARN_DAYS)).not.toContain("renew soon");

    expect(diagnosedKinds(-2)).toEqual(["certificate_expired"]);
    expect(certView(identity(-2), now).expired).toBe(true);
  });
});
