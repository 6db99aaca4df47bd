/** The duplicate-name rule: a route refused for this node's name, and two servers under a peer's name. */
import { expect, test } from "bun:test";
import { duplicateNameRule } from "../../../lib/diagnosis/rules/duplicate-name.ts";
import { cut, healthy, run } from "./_facts.ts";
import { event } from "./_events.ts";

test.each([
  ["no duplicate", healthy(), []],
  ["nats refused a route for the same name", { ...cut(healthy(), "10.0.0.3:6222"), events: [event("duplicate_node_name", 'Remote server has a duplicate name: "pi-1"', { name: "pi-1" }, ["10.0.0.3:6222"])] }, [["broken", "pi-1", 'are all named "pi-1"']]],
  ["a probe answers with this node's name, taken from the host name", { ...cut(healthy(), "10.0.0.3:6222"), nameFromHost: true, probes: [{ address: "10.0.0.3:6222", reachable: true, serverName: "pi-1" }] }, [["broken", "pi-1", "the hosts share it"]]],
  ["two servers answer to pi-2", healthy({ twins: [{ name: "pi-2", addresses: ["10.0.0.2:6222", "10.0.0.9:40000"] }] }), [["degraded", "pi-2", "a cloned SD card"]]],
] as const)("%s", (_, facts, want) => {
  const out = run(duplicateNameRule, facts);
  expect(out.map((p) => [p.severity, p.node])).toEqual(want.map(([s, n]) => [s, n]));
  want.forEach(([, , w], i) => expect(out[i]!.cause).toContain(w));
});
