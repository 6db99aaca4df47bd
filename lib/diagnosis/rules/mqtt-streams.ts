/**
 * mqtt-streams.ts is the rule for MQTT's own streams (lib/mqtt/streams.ts):
 * one without a leader takes every MQTT device offline (nats refuses each
 * connect: "stream is offline"), and one with fewer replicas than the
 * cluster should give it (min(3, members)) does so as soon as the member
 * holding it goes down. The facts come from every server's JetStream view
 * (lib/diagnosis/cluster-facts.ts), so every member says the same.
 */
import { CLUSTER } from "../../config/defaults.ts";
import { MQTT_STREAMS, REPLICA_CHECK_MS, isMqttStream } from "../../mqtt/streams.ts";
import type { MqttStreamFact } from "../cluster-facts.ts";
import { defineRule, type ProblemOf } from "../rule.ts";

type MqttKind = "mqtt_stream_offline" | "mqtt_stream_under_replicated";

/** mqttStreamsRule reports mqtt_stream_offline (broken for MQTT devices) and mqtt_stream_under_replicated (degraded). */
export const mqttStreamsRule = defineRule({
  name: "mqtt-streams",
  kinds: ["mqtt_stream_offline", "mqtt_stream_under_replicated"],
  check({ facts: f }) {
    const c = f.cluster;
    if (!c?.mqtt?.length) return [];
    const out: ProblemOf<MqttKind>[] = [];
    const offline = c.mqtt.filter((m) => !m.leader && !m.namedLeader);
    if (offline.length) {
      const missing = [...new Set(f.members.filter((m) => !m.removed).map((m) => m.name))].filter((n) => !c.answered.includes(n));
      out.push({
        kind: "mqtt_stream_offline", severity: "broken", node: missing.length ? missing.join(", ") : f.node,
        cause: `MQTT's ${list(offline)} ${offline.length === 1 ? "has" : "have"} no leader: MQTT devices cannot connect (nats refuses each connect: "stream is offline") until a majority of ${offline.length === 1 ? "its" : "their"} replicas is up${missing.length ? `; not answering: ${missing.join(", ")}` : ""}`,
        fix: `start the members that hold ${offline.length === 1 ? "its replicas" : "their replicas"} (${[...new Set(offline.flatMap((m) => m.holders))].join(", ") || "see unibus status there"}${missing.length ? `, and ${missing.join(", ")}` : ""}); with 3 or more members unibus keeps MQTT's streams at 3 replicas, so one member down does not do this`,
      });
    }
    const target = Math.min(CLUSTER.mqttMaxReplicas, Math.max(1, c.expected));
    const under = c.mqtt.filter((m) => m.replicas !== undefined && m.replicas < target);
    if (under.length) {
      const worst = Math.min(...under.map((m) => m.replicas!));
      const holders = [...new Set(under.map((m) => m.leader!))];
      out.push({
        kind: "mqtt_stream_under_replicated", severity: "degraded", node: holders.join(", "),
        cause: `MQTT's ${list(under)} ${under.length === 1 ? "has" : "have"} ${worst} replica${worst === 1 ? "" : "s"} of the ${target} this cluster should give ${under.length === 1 ? "it" : "them"}: with ${holders.join(" or ")} down, MQTT devices cannot connect or publish at QoS 1 and 2, and persistent sessions lose what is sent meanwhile`,
        fix: `wait: the JetStream meta leader raises MQTT's streams within ${Math.round(REPLICA_CHECK_MS / 1000)} s once ${target} members are up (its log says "cannot raise an MQTT stream's replicas yet" and why when it cannot); by hand, in the clients' account: nats stream edit '${under[0]!.stream}' --replicas ${target} (each stream in turn)`,
      });
    }
    return out;
  },
});

/** list names the streams with what they hold for a device ("$MQTT_sess (sessions …)"). */
function list(ms: MqttStreamFact[]): string {
  const names = ms.map((m) => `${ms.length > 2 ? m.stream : `${m.stream} (${isMqttStream(m.stream) ? MQTT_STREAMS[m.stream] : "MQTT"})`}${m.account !== "$G" ? ` of account ${m.account}` : ""}`);
  return `stream${ms.length === 1 ? "" : "s"} ${names.join(", ")}`;
}
