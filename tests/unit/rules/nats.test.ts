/** The nats rule: silent monitoring named as not running, stopped or hung; a node that left says nothing here. */
import { expect, test } from "bun:test";
import { natsRule } from "../../../lib/diagnosis/rules/nats.ts";
import { healthy, run, standalone } from "./_facts.ts";

const down = { reachable: false, monitorError: "connect ECONNREFUSED 127.0.0.1:8222" };
test.each([
  ["answers", healthy(), []],
  ["silent, no process", healthy(down), ["does not answer at", "unibus is not running or is still starting", "systemctl start unibus"]],
  ["SIGSTOPped", healthy({ ...down, processes: { nats: { pid: 42, state: "stopped" } } }), ["pid 42) is stopped", "kill -CONT 42"]],
  ["hung", healthy({ ...down, monitorError: "did not answer within 2 s", processes: { nats: { pid: 7, state: "running" } } }), ["is running but does not answer", "systemctl restart unibus"]],
  ["left the cluster", healthy({ ...down, left: { cluster: "lab", name: "pi-1", at: "2026-12-01T00:00:00Z", how: "left" } }), []],
  ["no JetStream and not ready", healthy({ config: standalone, jetstreamEnabled: false, health: { ok: false, detail: "not ready" } }), ["nats-server is not ready: not ready"]],
] as const)("%s", (_, facts, words) => {
  const out = run(natsRule, facts);
  expect(out.length).toBe(words.length ? 1 : 0);
  for (const w of words) expect(`${out[0]!.cause} ${out[0]!.fix}`).toContain(w);
  if (out.length) expect(out[0]).toMatchObject({ kind: "nats_not_running", severity: "broken", node: "pi-1" });
});
