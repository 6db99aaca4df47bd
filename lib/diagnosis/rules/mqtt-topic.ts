/**
 * mqtt-topic.ts is the rule for an MQTT topic nats-server cannot take: it
 * maps topics to NATS subjects and refuses whitespace (space, tab, CR, LF,
 * FF) and DEL in them (server/mqtt.go, mqttToNATSSubjectConversion). A
 * publish to such a topic closes the device's connection, and nats logs
 * only "character not supported for MQTT topics" with the client id; a
 * subscribe names the topic too. Zigbee2MQTT publishes each device under its
 * friendly name, so one name with a space ("Living Room Lamp") drops the
 * bridge again and again while everything else says healthy.
 */
import type { NatsEvent } from "../nats-events.ts";
import { defineRule, eventsOf, withEvidence, type ProblemOf } from "../rule.ts";

/** MQTT_REFUSAL_FRESH_MS: a refusal is reported this long after nats last said it (devices republish on change, not steadily). */
export const MQTT_REFUSAL_FRESH_MS = 10 * 60_000;

/** MQTT_REFUSED_CHARACTERS names what nats refuses in an MQTT topic, for the words of the problem and README. */
export const MQTT_REFUSED_CHARACTERS = "spaces, tabs, line breaks (CR, LF, FF) or DEL (0x7f)";

/** mqttTopicRule reports mqtt_topic_refused, one problem per MQTT client. */
export const mqttTopicRule = defineRule({
  name: "mqtt-topic",
  kinds: ["mqtt_topic_refused"],
  check({ facts: f }) {
    const recent = eventsOf(f.events, "mqtt_topic_refused").filter((e) => f.now - e.lastSeen <= MQTT_REFUSAL_FRESH_MS);
    const byClient = new Map<string, NatsEvent[]>();
    for (const e of recent) {
      const client = e.detail.client ?? "unknown";
      byClient.set(client, [...(byClient.get(client) ?? []), e]);
    }
    const out: ProblemOf<"mqtt_topic_refused">[] = [];
    for (const [client, evs] of [...byClient].sort(([a], [b]) => a.localeCompare(b))) {
      const topics = [...new Set(evs.map((e) => e.detail.topic).filter((t): t is string => Boolean(t)))];
      const from = [...new Set(evs.flatMap((e) => e.addresses.map((a) => a.replace(/:\d+$/, ""))))];
      const which = topics.length
        ? `topic${topics.length === 1 ? "" : "s"} ${topics.map((t) => `"${t}"`).join(", ")}`
        : "a topic it published (nats does not log a refused publish's topic; the device's own log or a subscription to its base topic # shows it)";
      out.push(withEvidence({
        kind: "mqtt_topic_refused", severity: "degraded", node: f.node,
        cause: `nats refused MQTT client "${client}"${from.length ? ` (from ${from.join(", ")})` : ""}: ${which} contains a character nats cannot carry in an MQTT topic (${MQTT_REFUSED_CHARACTERS}), and it closed the device's connection; what it sent there is lost`,
        fix: `rename the topic without those characters on the device "${client}"; for Zigbee2MQTT, give each device a friendly name without spaces (e.g. living_room_lamp instead of "Living Room Lamp") in its frontend or configuration.yaml (devices: … friendly_name), then restart Zigbee2MQTT`,
      }, evs));
    }
    return out;
  },
});
