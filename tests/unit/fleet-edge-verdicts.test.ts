/**
 * A hub's fleet view carries each edge's own verdict as the edge reported it
 * over its uplink (lib/fleet/edge-report.ts): matched to the edge by its
 * node name, said to be stale once it is older than three report intervals,
 * and never taken when it is not a report's shape; an enrolled edge's report
 * only with that edge's signature.
 */
import { expect, test } from "bun:test";
import { fleetRows, type EdgeConnection, type ExpectedEdge } from "../../lib/fleet/fleet-view.ts";
import { createUser } from "@nats-io/nkeys";
import { EDGE_REPORT_STALE_MS, openReport, parseEdgeReport, signedPayload, type EdgeReport, type ReceivedReport } from "../../lib/fleet/edge-report.ts";

const NOW = Date.parse("2026-12-07T06:00:00Z");
const expected: ExpectedEdge[] = [
  { name: "edge-1", via: "enrolled", signIn: "UKEY1" },
  { name: "edge-2", via: "enrolled", signIn: "UKEY2" },
  { name: "edge-3", via: "enrolled", signIn: "UKEY3" },
  { name: "kitchen", via: "user", signIn: "kitchen" },
];
const connections: EdgeConnection[] = [
  { name: "edge-1", hub: "hub-1", signIn: "UKEY1", since: "2026-12-07T05:00:00Z", version: "2.15.1" },
  { name: "edge-2", hub: "hub-2", signIn: "UKEY2" },
  { name: "pi-kitchen", hub: "hub-3", signIn: "kitchen" },
  { name: "shared-1", hub: "hub-1" },
];
const received = (edge: string, verdict: "healthy" | "degraded" | "broken", ageMs: number, problem?: { kind: string; cause: string }): [string, ReceivedReport] =>
  [edge, { report: { edge, verdict, problems: problem ? 2 : 0, at: new Date(NOW - ageMs).toISOString(), unibus: "1.2.3", ...(problem ? { problem } : {}) }, receivedAt: NOW - ageMs }];

test("each edge's row carries its own last verdict, first problem and unibus version, matched by its node name", () => {
  const reports = new Map([
    received("edge-1", "healthy", 2_000),
    received("edge-2", "degraded", 4_000, { kind: "disk_low", cause: "the data dir's disk has 3 % free" }),
    received("pi-kitchen", "broken", 1_000, { kind: "nats_down", cause: "nats-server is not running" }),
    received("shared-1", "healthy", 1_000),
  ]);
  const rows = fleetRows(expected, connections, NOW, reports);
  const by = (n: string) => rows.find((r) => r.name === n || r.name.startsWith(`${n} `))!;
  expect(by("edge-1").report).toMatchObject({ verdict: "healthy", stale: false, ageS: 2, unibus: "1.2.3", problems: 0 });
  expect(by("edge-1")).toMatchObject({ since: "2026-12-07T05:00:00Z", version: "2.15.1", hub: "hub-1" });
  expect(by("edge-2").report).toMatchObject({ verdict: "degraded", stale: false, problem: { kind: "disk_low" }, problems: 2 });
  // A [[leafnodes.users]] edge reports under its server name, which its row shows beside the user.
  expect(by("kitchen").report).toMatchObject({ verdict: "broken", problem: { kind: "nats_down" } });
  expect(by("shared-1").report?.verdict).toBe("healthy");
  // edge-3 is missing and never reported: no verdict is made up for it.
  expect(by("edge-3").connected).toBe(false);
  expect(by("edge-3").report).toBeUndefined();
});

test("a report older than three intervals is stale: the row says how old, not that the edge is healthy now", () => {
  const rows = fleetRows(expected, connections, NOW, new Map([received("edge-1", "healthy", EDGE_REPORT_STALE_MS + 1_000)]));
  const r = rows.find((x) => x.name === "edge-1")!;
  expect(r.report).toMatchObject({ verdict: "healthy", stale: true, ageS: Math.round((EDGE_REPORT_STALE_MS + 1_000) / 1000) });
  const fresh = fleetRows(expected, connections, NOW, new Map([received("edge-1", "healthy", EDGE_REPORT_STALE_MS - 1_000)]));
  expect(fresh.find((x) => x.name === "edge-1")!.report?.stale).toBe(false);
});

test("what comes over the wire is taken only in a report's shape, its texts bounded", () => {
  expect(parseEdgeReport({ edge: "edge-1", verdict: "healthy", problems: 0, at: "2026-12-07T06:00:00Z" })).toMatchObject({ edge: "edge-1", verdict: "healthy" });
  expect(parseEdgeReport({ edge: "edge-1", verdict: "fine", at: "2026-12-07T06:00:00Z" })).toBeUndefined();
  expect(parseEdgeReport({ edge: "../x", verdict: "healthy", at: "2026-12-07T06:00:00Z" })).toBeUndefined();
  expect(parseEdgeReport({ edge: "edge-1", verdict: "healthy", at: "yesterday" })).toBeUndefined();
  expect(parseEdgeReport("healthy")).toBeUndefined();
  const long = parseEdgeReport({ edge: "edge-1", verdict: "broken", problems: 1, at: "2026-12-07T06:00:00Z", problem: { kind: "k", cause: "x".repeat(5_000) } });
  expect(long?.problem?.cause.length).toBe(300);
});

test("an enrolled edge's report counts only signed by its own nkey: another edge (or a local client on it) cannot speak for it", () => {
  const edge1 = createUser();
  const edge2 = createUser();
  const keys = new Map([["edge-1", edge1.getPublicKey()], ["edge-2", edge2.getPublicKey()]]);
  const keyOf = (e: string) => keys.get(e);
  const report = (edge: string, verdict: EdgeReport["verdict"]): EdgeReport => ({ edge, verdict, problems: 0, at: new Date(NOW).toISOString() });
  const wire = (text: string) => JSON.parse(text) as unknown;
  // its own signature: taken
  expect(openReport(wire(signedPayload(report("edge-2", "healthy"), (d) => edge2.sign(d))), keyOf)).toMatchObject({ edge: "edge-2", verdict: "healthy" });
  // the probe's forgery: a report for edge-2 sent through edge-1 (signed with edge-1's key, or not signed): dropped
  expect(openReport(wire(signedPayload(report("edge-2", "broken"), (d) => edge1.sign(d))), keyOf)).toBeUndefined();
  expect(openReport(wire(signedPayload(report("edge-2", "broken"))), keyOf)).toBeUndefined();
  // a signed text changed on the way: dropped
  const signed = JSON.parse(signedPayload(report("edge-1", "healthy"), (d) => edge1.sign(d))) as { report: string; sig: string };
  expect(openReport({ ...signed, report: signed.report.replace("healthy", "broken") }, keyOf)).toBeUndefined();
  // a hand-written edge (no key at the hub) reports unsigned, as before
  expect(openReport(wire(signedPayload(report("kitchen", "degraded"))), keyOf)).toMatchObject({ edge: "kitchen", verdict: "degraded" });
  // a signature for an edge the hub has no key for proves nothing: dropped
  expect(openReport(wire(signedPayload(report("kitchen", "healthy"), (d) => edge1.sign(d))), keyOf)).toBeUndefined();
});
