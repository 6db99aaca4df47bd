/** The restoring rule: a start under way is told as "restoring JetStream (stream S, N of M)", moving or stalled, and the nats rule says nothing of a hang. */
import { expect, test } from "bun:test";
import { jetstreamRestoringRule } from "../../../lib/diagnosis/rules/jetstream-restoring.ts";
import { natsRule } from "../../../lib/diagnosis/rules/nats.ts";
import type { StartProgressRecord } from "../../../lib/natsd/start-progress.ts";
import { NOW, healthy, run } from "./_facts.ts";

const restoring: StartProgressRecord = {
  unibusPid: 10, natsPid: 11, since: NOW - 5 * 60_000, phase: "restoring JetStream", stream: "$G > ORDERS",
  streamsStarted: 3, streamsRestored: 1, streamsTotal: 5, messagesRestored: 200_000, lastProgressAt: NOW - 5_000, writtenAt: NOW - 5_000,
};
const silent = { reachable: false, monitorError: "did not answer within 2 s", processes: { nats: { pid: 11, state: "running" as const } } };

test.each([
  ["ready", healthy(), []],
  ["restoring and moving", healthy({ ...silent, starting: restoring }), ["restoring JetStream (stream ORDERS, 2 of 5)", "5 min so far", "200000 messages restored", "do not restart it"]],
  ["restoring, nothing moved for 3 min", healthy({ ...silent, starting: { ...restoring, lastProgressAt: NOW - 180_000 } }), ["shows no progress for 180 s", "systemctl restart unibus"]],
] as const)("%s", (_, facts, words) => {
  const out = run(jetstreamRestoringRule, facts);
  expect(out.length).toBe(words.length ? 1 : 0);
  for (const w of words) expect(`${out[0]!.cause} ${out[0]!.fix}`).toContain(w);
  if (out.length) expect(out[0]).toMatchObject({ kind: "jetstream_restoring", severity: "broken", node: "pi-1" });
});

test("a silent monitoring port during a restore is not called hung", () => {
  expect(run(natsRule, healthy({ ...silent, starting: restoring }))).toEqual([]);
  expect(run(natsRule, healthy(silent))[0]!.cause).toContain("hung");
});
