/** The fleet rule: an expected edge no hub node sees is named, degraded; shared-secret edges and a stale or failed view name nothing. */
import { expect, test } from "bun:test";
import { fleetRule } from "../../../lib/diagnosis/rules/fleet.ts";
import type { FleetView } from "../../../lib/fleet/fleet-view.ts";
import { healthy, run } from "./_facts.ts";

const view = (rows: FleetView["rows"], error?: string): FleetView => ({ at: "2026-12-01T12:00:00Z", hubNodes: ["hub-1", "hub-2", "hub-3"], rows, ...(error ? { error } : {}) });
const up = (name: string, via: "enrolled" | "user" | "secret" = "enrolled") => ({ name, via, connected: true, hub: "hub-2" });
const down = (name: string, via: "enrolled" | "user" = "enrolled") => ({ name, via, connected: false });

test.each([
  ["every edge connected", view([up("edge-01"), up("edge-02", "user")]), []],
  ["one of three missing", view([up("edge-01"), down("edge-02"), up("edge-03")]), [["edge-02", "2 of 3 expected edges are"]]],
  ["a missing [[leafnodes.users]] edge says how to retire it", view([down("garage", "user")]), [["garage", "remove its [[leafnodes.users]] entry"]]],
  ["shared-secret edges are never missed", view([up("anon-1", "secret")]), []],
  ["a view that failed names nothing", view([down("edge-02")], "timeout"), []],
  ["no view (not a hub, or the node is down)", undefined, []],
] as const)("%s", (_, fleet, want) => {
  const out = run(fleetRule, healthy(fleet ? { fleet: fleet as FleetView } : {}));
  expect(out.map((p) => p.node)).toEqual(want.map(([n]) => n));
  for (const p of out) expect(p).toMatchObject({ kind: "edge_missing", severity: "degraded" });
  want.forEach(([, w], i) => expect(`${out[i]!.cause} ${out[i]!.fix}`).toContain(w));
});
