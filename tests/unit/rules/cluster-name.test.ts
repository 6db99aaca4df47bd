/** The cluster-name rule: the odd node is told the exact name to write; a peer that differs is named. */
import { expect, test } from "bun:test";
import { clusterNameRule } from "../../../lib/diagnosis/rules/cluster-name.ts";
import { cut, healthy, run } from "./_facts.ts";
import { event } from "./_events.ts";

const alone = cut(healthy(), "10.0.0.2:6222", "10.0.0.3:6222");
const refusal = event("cluster_name_mismatch", 'Rejecting connection, cluster name "home" does not match "lab"', { remote: "home", local: "lab" }, ["10.0.0.2:6222"]);
test.each([
  ["no refusal", healthy(), undefined],
  ["this node alone against its peers", { ...alone, events: [refusal] }, { severity: "broken", node: "pi-1", words: ['set cluster.name = "home"', "restart unibus on this node"] }],
  ["one peer probed under another name", { ...cut(healthy(), "10.0.0.3:6222"), probes: [{ address: "10.0.0.3:6222", reachable: true, serverName: "pi-3", cluster: "home" }] }, { severity: "degraded", node: "pi-3 (10.0.0.3:6222)", words: ['on pi-3 (10.0.0.3:6222), set cluster.name = "lab"'] }],
  ["an old refusal is not the present", { ...alone, events: [event("cluster_name_mismatch", "x", { remote: "home" }, [], 60_000)] }, undefined],
] as const)("%s", (_, facts, want) => {
  const out = run(clusterNameRule, facts);
  if (!want) return expect(out).toEqual([]);
  expect(out).toHaveLength(1);
  expect(out[0]).toMatchObject({ kind: "cluster_name_mismatch", severity: want.severity, node: want.node });
  for (const w of want.words) expect(`${out[0]!.cause} ${out[0]!.fix}`).toContain(w);
});
