/** What `unibus recover` says is lost: per stream, the survivor's last sequence against what its leader last reported. */
import { expect, test } from "bun:test";
import { describeLoss, type RecoverPlan } from "../../lib/membership/recover.ts";

const now = Date.parse("2026-12-01T12:00:00Z");
const plan = (over: Partial<RecoverPlan>): RecoverPlan => ({
  self: "a", cluster: "lab", meta: { size: 3, servers: [] }, aliveSigns: [], now,
  lost: [{ name: "b", addresses: [] }, { name: "c", addresses: [] }],
  streams: [{ account: "$G", name: "ORDERS", replicas: 3, messages: 1200, lastSeq: 1200 }],
  marks: [],
  ...over,
});

test("a leader that reported more than the survivor holds: the difference is named as lost", () => {
  const lines = describeLoss(plan({ marks: [{ name: "ORDERS", lastSeq: 1234, leader: "b", replicas: 3, at: now - 40_000 }] }));
  expect(lines[0]).toBe("stream ORDERS (R3): kept here up to sequence 1200 (1200 messages); its leader b reported sequence 1234 40 s ago: 34 acknowledged writes are lost, and any acknowledged after that report by b and c alone");
});

test("a survivor that holds all the leader reported loses only what came after the report", () => {
  const lines = describeLoss(plan({ marks: [{ name: "ORDERS", lastSeq: 1200, leader: "a", replicas: 3, at: now - 5_000 }] }));
  expect(lines[0]).toContain("all of them here: only writes acknowledged after that report by b and c alone are lost");
});

test("without a leader report the loss is said to be unknown, and a stream with no replica here is lost whole", () => {
  const lines = describeLoss(plan({ marks: [{ name: "LOGS", lastSeq: 77, leader: "c", replicas: 1, at: now - 10_000 }] }));
  expect(lines[0]).toContain("no leader report was kept");
  expect(lines[1]).toBe("stream LOGS (R1) has no replica here: lost whole (its leader c reported sequence 77 10 s ago); restore it from a backup");
});
