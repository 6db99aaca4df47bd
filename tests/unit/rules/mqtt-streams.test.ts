/** The MQTT streams rule: a leaderless or under-replicated $MQTT_* stream is named as a problem for MQTT devices, with the fix. */
import { expect, test } from "bun:test";
import type { MqttStreamFact } from "../../../lib/diagnosis/cluster-facts.ts";
import { mqttStreamsRule } from "../../../lib/diagnosis/rules/mqtt-streams.ts";
import { healthy, round, run } from "./_facts.ts";

const NAMES = ["$MQTT_msgs", "$MQTT_out", "$MQTT_qos2in", "$MQTT_rmsgs", "$MQTT_sess"];
const at = (replicas: number, leader = "pi-1", extra: Partial<MqttStreamFact> = {}): MqttStreamFact[] =>
  NAMES.map((stream) => ({ stream, account: "$G", leader, namedLeader: leader, replicas, offline: [], holders: [leader], ...extra }));

test.each([
  ["no MQTT device yet: no streams, nothing to say", [], 3, []],
  ["three replicas on three members", at(3), 3, []],
  ["one replica (the old join path) on three members", at(1, "pi-2"), 3, [["mqtt_stream_under_replicated", "degraded", "pi-2", "1 replica of the 3"]]],
  ["two replicas (the old init cluster) on three members", at(2), 3, [["mqtt_stream_under_replicated", "degraded", "pi-1", "2 replicas of the 3"]]],
  ["two replicas on a two-member cluster is all it can have", at(2), 2, []],
  ["no leader, none named by a follower", at(3, "pi-2", { leader: undefined, namedLeader: undefined, replicas: undefined, holders: ["pi-1"] }), 3, [["mqtt_stream_offline", "broken", "pi-1", "no leader"]]],
  ["the leader did not answer in time but a follower names it: not offline", at(3, "pi-2", { leader: undefined, replicas: undefined, holders: ["pi-1"] }), 3, []],
] as const)("%s", (_, mqtt, expected, want) => {
  const out = run(mqttStreamsRule, healthy({ cluster: round({ mqtt: mqtt as never, expected }) }));
  expect(out.map((p) => [p.kind, p.severity, p.node])).toEqual(want.map(([k, s, n]) => [k, s, n]));
  want.forEach(([, , , words], i) => {
    expect(out[i]!.cause).toContain(words);
    expect(out[i]!.cause).toContain("$MQTT_sess");
    expect(out[i]!.cause).toContain("MQTT devices");
  });
});

test("an under-replicated stream's fix says unibus raises it and how to do it by hand", () => {
  const [p] = run(mqttStreamsRule, healthy({ cluster: round({ mqtt: at(1) }) }));
  expect(p!.fix).toContain("raises MQTT's streams");
  expect(p!.fix).toContain("--replicas 3");
});

test("an offline stream's fix names the members to start", () => {
  const [p] = run(mqttStreamsRule, healthy({ cluster: round({ mqtt: at(3, "pi-2", { leader: undefined, namedLeader: undefined, replicas: undefined, holders: ["pi-1", "pi-2"] }), answered: ["pi-1", "pi-2"] }) }));
  expect(p!.node).toBe("pi-3");
  expect(p!.fix).toContain("start the members");
  expect(p!.fix).toContain("pi-3");
});
