/** The MQTT topic rule: a topic nats refuses is named with the client, the topic when nats says it, and the Zigbee2MQTT fix. */
import { expect, test } from "bun:test";
import { classifyNatsLine } from "../../../lib/diagnosis/nats-events.ts";
import { MQTT_REFUSAL_FRESH_MS, mqttTopicRule } from "../../../lib/diagnosis/rules/mqtt-topic.ts";
import { event } from "./_events.ts";
import { healthy, run } from "./_facts.ts";

test("nats-server's two refusal lines are read with the client id, and the topic when the line has it", () => {
  const pub = classifyNatsLine('10.0.0.9:54884 - mid:5 - "zb-bridge" - character not supported for MQTT topics');
  expect(pub).toMatchObject({ kind: "mqtt_topic_refused", detail: { client: "zb-bridge" }, address: "10.0.0.9:54884" });
  expect(pub!.detail.topic).toBeUndefined();
  const sub = classifyNatsLine('10.0.0.9:54886 - mid:24 - "zb-sub" - invalid topic "zigbee2mqtt/Living Room Lamp/#": character not supported for MQTT topics');
  expect(sub).toMatchObject({ kind: "mqtt_topic_refused", detail: { client: "zb-sub", topic: "zigbee2mqtt/Living Room Lamp/#" } });
  // Two clients are two events (their texts differ), so each device gets its own problem.
  expect(pub!.text).not.toBe(classifyNatsLine('10.0.0.8:1 - mid:6 - "other" - character not supported for MQTT topics')!.text);
  // A route or client line with the same words is not an MQTT device.
  expect(classifyNatsLine("10.0.0.2:6222 - rid:7 - character not supported for MQTT topics")).toBeUndefined();
});

test.each([
  ["a publish: the client is named, nats does not say the topic", [event("mqtt_topic_refused", '"zb-bridge" - character not supported for MQTT topics', { client: "zb-bridge" }, ["10.0.0.9:54884"])], [["zb-bridge", "nats does not log"]]],
  ["a subscribe: the topic is named", [event("mqtt_topic_refused", "x", { client: "zb-sub", topic: "zigbee2mqtt/Living Room Lamp/#" }, ["10.0.0.9:1"])], [["zb-sub", '"zigbee2mqtt/Living Room Lamp/#"']]],
  ["two devices: two problems", [event("mqtt_topic_refused", "a", { client: "b" }), event("mqtt_topic_refused", "c", { client: "a" })], [["a", "a topic"], ["b", "a topic"]]],
  ["a refusal older than the window is history", [event("mqtt_topic_refused", "a", { client: "old" }, [], MQTT_REFUSAL_FRESH_MS + 1_000)], []],
] as const)("%s", (_, events, want) => {
  const out = run(mqttTopicRule, healthy({ events: events as never }));
  expect(out.map((p) => p.kind)).toEqual(want.map(() => "mqtt_topic_refused"));
  want.forEach(([client, words], i) => {
    expect(out[i]!.cause).toContain(`MQTT client "${client}"`);
    expect(out[i]!.cause).toContain(words);
    expect(out[i]!.cause).toContain("spaces");
    expect(out[i]!.fix).toContain("Zigbee2MQTT");
    expect(out[i]!.fix).toContain("friendly name without spaces");
  });
});
