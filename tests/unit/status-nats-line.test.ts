/**
 * The status line about nats-server tells a JetStream lag inside its grace
 * (a start, a rejoin, a new stream: no problem yet, the verdict may be
 * HEALTHY) apart from a nats-server that is not ready: on the bed, right
 * after `unibus recover`, status said HEALTHY beside "nats-server not ready".
 */
import { expect, test } from "bun:test";
import { formatStatus } from "../../lib/cli/status.ts";
import type { ClusterStatus } from "../../lib/cluster/status.ts";

const now = Date.parse("2026-12-07T12:00:00Z");
const line = (health: ClusterStatus["health"]) => {
  const s: ClusterStatus = {
    node: "pi-1", reachable: true, health, routes: [], expectedPeers: [], missingPeers: [], metaOffline: [], leafs: [],
    verdict: "healthy", problems: [], healthy: true, checkedAt: new Date(now).toISOString(),
  };
  return formatStatus(s, now).split("\n").find((l) => l.trimStart().startsWith("nats-server"))!.trim();
};

test("ready, catching up inside the grace, and not ready are three different lines", () => {
  expect(line({ ok: true, detail: "ok" })).toBe("nats-server   ready");
  const detail = "JetStream stream '$G > ORDERS' is not current";
  expect(line({ ok: false, detail, catchingUpMs: 6_400 })).toBe(`nats-server   ready; JetStream catching up for 6 s (normal after a start, a rejoin or a new stream): ${detail}`);
  expect(line({ ok: false, detail })).toBe(`nats-server   not ready: ${detail}`);
});
