/**
 * streams.ts names the JetStream streams nats-server's MQTT broker keeps in
 * each account that has MQTT clients (server/mqtt.go): sessions, QoS 1
 * messages, retained messages, QoS 2 messages in flight both ways. Without
 * them an MQTT client cannot connect, publish at QoS 1/2 or resume a
 * session, so their replicas decide whether MQTT survives a node.
 */

/** MQTT_STREAMS are the stream names, with what each one holds for a device. */
export const MQTT_STREAMS = {
  $MQTT_sess: "sessions (every MQTT connect looks its session up here)",
  $MQTT_msgs: "QoS 1 and 2 messages",
  $MQTT_rmsgs: "retained messages",
  $MQTT_qos2in: "QoS 2 messages being received",
  $MQTT_out: "QoS 2 releases being sent",
} as const;

/** MqttStreamName is one of MQTT's stream names. */
export type MqttStreamName = keyof typeof MQTT_STREAMS;

/** MQTT_STREAM_NAMES lists MQTT_STREAMS' names. */
export const MQTT_STREAM_NAMES = Object.keys(MQTT_STREAMS) as MqttStreamName[];

/** isMqttStream tells whether a stream is one of MQTT's own. */
export function isMqttStream(name: string): name is MqttStreamName {
  return Object.hasOwn(MQTT_STREAMS, name);
}

/**
 * CLIENT_ACCOUNT is the account nats-server puts client users and MQTT
 * devices in while unibus renders them without accounts: nats's global
 * account, where MQTT's streams live.
 */
export const CLIENT_ACCOUNT = "$G";

/** REPLICA_CHECK_MS is how often the JetStream meta leader looks at MQTT's streams' replicas (lib/mqtt/replica-keeper.ts). */
export const REPLICA_CHECK_MS = 15_000;
