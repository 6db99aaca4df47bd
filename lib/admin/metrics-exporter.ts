/**
 * metrics-exporter.ts renders nats-server's monitoring documents under the
 * names, labels and flattening of the NATS Prometheus exporter
 * (prometheus-nats-exporter), so its Grafana dashboards (grafana-nats-dash,
 * grafana-jetstream-dash) work against a unibus node's /metrics unchanged:
 *
 * - /varz flattened the exporter's way: every number, nested objects joined
 *   with "_" (`jetstream.config.max_memory` → gnatsd_varz_jetstream_config_max_memory),
 *   identity strings as `{value="…"} 1`, times as Unix seconds;
 * - /jsz server totals, account, stream and consumer gauges (jetstream_*)
 *   with the exporter's label sets (stream_name, consumer_name, …).
 *
 * unibus's own facts (unibus_*) live in metrics.ts.
 */
import type { ConsumerDetail, Jsz, Varz } from "../natsd/monitoring-types.ts";

type Labels = Record<string, string>;

/** MetricSink is where samples go (metrics.ts's Exposition). */
export interface MetricSink {
  add(name: string, help: string, value: number, labels?: Labels): void;
}

/** Keys the exporter leaves out of varz (ports and timeouts of sub-blocks, the operator claim). */
const VARZ_SKIP = new Set(["leaf", "trusted_operators_claim", "cluster_tls_timeout", "cluster_cluster_port", "cluster_auth_timeout", "gateway_port", "gateway_auth_timeout", "gateway_tls_timeout", "gateway_connect_retries"]);
/** String keys the exporter keeps: identities as a `value` label, times as a number. */
const VARZ_LABEL_KEYS = new Set(["server_id", "server_name", "version", "domain", "leader", "name", "start", "config_load_time"]);

/** exporterName joins a path the exporter's way: "_" between parts, "/" as "_", no "__", no edge "_". */
function exporterName(path: string[]): string {
  let name = path.join("_").replace(/\//g, "_");
  while (name.includes("__")) name = name.replace(/__/g, "_");
  return name.replace(/^_+|_+$/g, "").replace(/[^a-zA-Z0-9_]/g, "_");
}

/** RFC3339 as Go writes time.Time; the exporter turns such strings into Unix seconds. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function flatten(sink: MetricSink, prefix: string, doc: Record<string, unknown>, path: string[], serverId: string): void {
  for (const [key, value] of Object.entries(doc)) {
    const here = [...path, key];
    const name = exporterName(here);
    if (VARZ_SKIP.has(name)) continue;
    if (typeof value === "number") {
      sink.add(`${prefix}_${name}`, name, value, { server_id: serverId });
    } else if (typeof value === "string" && VARZ_LABEL_KEYS.has(key)) {
      if (RFC3339.test(value)) sink.add(`${prefix}_${name}`, name, Date.parse(value) / 1000, { server_id: serverId });
      else sink.add(`${prefix}_${name}`, name, 1, { server_id: serverId, value });
    } else if (value && typeof value === "object" && !Array.isArray(value)) {
      flatten(sink, prefix, value as Record<string, unknown>, here, serverId);
    }
  }
}

/** addExporterVarz writes /varz as gnatsd_varz_*, nested objects flattened as the exporter does. */
export function addExporterVarz(sink: MetricSink, varz: Varz, serverId: string): void {
  flatten(sink, "gnatsd_varz", varz as Record<string, unknown>, [], serverId);
}

/** JszLabelContext is what the exporter takes from /varz to label /jsz metrics. */
export interface JszLabelContext { serverId: string; serverName: string }

/** addExporterJsz writes /jsz?accounts&streams&consumers&config as the exporter's jetstream_* gauges. */
export function addExporterJsz(sink: MetricSink, j: Jsz, ctx: JszLabelContext): void {
  const meta = j.meta_cluster;
  const server: Labels = {
    server_id: ctx.serverId, server_name: ctx.serverName, cluster: meta?.name ?? "", domain: j.config?.domain ?? "",
    meta_leader: meta?.leader ?? "", is_meta_leader: meta ? String(meta.leader === ctx.serverName) : "true",
  };
  sink.add("jetstream_server_jetstream_disabled", "JetStream disabled or not", j.disabled ? 1 : 0, server);
  sink.add("jetstream_server_max_memory", "JetStream Max Memory", j.config?.max_memory ?? 0, server);
  sink.add("jetstream_server_max_storage", "JetStream Max Storage", j.config?.max_storage ?? 0, server);
  sink.add("jetstream_server_total_streams", "Total number of streams in JetStream", j.streams, server);
  sink.add("jetstream_server_total_consumers", "Total number of consumers in JetStream", j.consumers, server);
  sink.add("jetstream_server_total_messages", "Total number of stored messages in JetStream", j.messages, server);
  sink.add("jetstream_server_total_message_bytes", "Total number of bytes stored in JetStream", j.bytes, server);
  for (const account of j.account_details ?? []) {
    const acc: Labels = { ...server, account: account.name, account_name: account.name, account_id: account.id };
    if (account.reserved_memory !== undefined) sink.add("jetstream_account_max_memory", "JetStream Account Max Memory in bytes", account.reserved_memory, acc);
    if (account.reserved_storage !== undefined) sink.add("jetstream_account_max_storage", "JetStream Account Max Storage in bytes", account.reserved_storage, acc);
    if (account.storage !== undefined) sink.add("jetstream_account_storage_used", "Total number of bytes used by JetStream storage", account.storage, acc);
    if (account.memory !== undefined) sink.add("jetstream_account_memory_used", "Total number of bytes used by JetStream memory", account.memory, acc);
    for (const st of account.stream_detail ?? []) {
      const leader = st.cluster?.leader ?? "";
      const stream: Labels = { ...acc, stream_name: st.name, stream_leader: leader, is_stream_leader: st.cluster ? String(leader === ctx.serverName) : "true", stream_raft_group: st.stream_raft_group ?? "" };
      sink.add("jetstream_stream_total_messages", "Total number of messages from a stream", st.state.messages, stream);
      sink.add("jetstream_stream_total_bytes", "Total stored bytes from a stream", st.state.bytes, stream);
      sink.add("jetstream_stream_first_seq", "First sequence from a stream", st.state.first_seq, stream);
      sink.add("jetstream_stream_last_seq", "Last sequence from a stream", st.state.last_seq, stream);
      sink.add("jetstream_stream_consumer_count", "Total number of consumers from a stream", st.state.consumer_count, stream);
      sink.add("jetstream_stream_subject_count", "Total number of subjects in a stream", st.state.num_subjects ?? 0, stream);
      if (st.config?.max_bytes !== undefined) sink.add("jetstream_stream_limit_bytes", "The maximum configured storage limit (in bytes) for a JetStream stream. A value of -1 indicates no limit.", st.config.max_bytes, stream);
      if (st.config?.max_msgs !== undefined) sink.add("jetstream_stream_limit_messages", "The maximum number of messages allowed in a JetStream stream as per its configuration. A value of -1 indicates no limit.", st.config.max_msgs, stream);
      for (const c of st.consumer_detail ?? []) addConsumer(sink, c, stream, ctx.serverName);
    }
  }
}

/** addConsumer writes one consumer's jetstream_consumer_* gauges with the stream's labels plus its own. */
function addConsumer(sink: MetricSink, c: ConsumerDetail, stream: Labels, serverName: string): void {
  const leader = c.cluster?.leader ?? "";
  const labels: Labels = { ...stream, consumer_name: c.name, consumer_leader: leader, is_consumer_leader: c.cluster ? String(leader === serverName) : "true", consumer_desc: c.config?.description ?? "" };
  const at = c.ts ? Date.parse(c.ts) : Date.now();
  if (c.delivered.last_active) sink.add("jetstream_consumer_last_delivery_seconds", "Seconds since last message delivery to consumer", (at - Date.parse(c.delivered.last_active)) / 1000, labels);
  if (c.ack_floor.last_active) sink.add("jetstream_consumer_last_ack_seconds", "Seconds since last ack from consumer", (at - Date.parse(c.ack_floor.last_active)) / 1000, labels);
  sink.add("jetstream_consumer_delivered_consumer_seq", "Latest sequence number of a stream consumer", c.delivered.consumer_seq, labels);
  sink.add("jetstream_consumer_delivered_stream_seq", "Latest sequence number of a stream", c.delivered.stream_seq, labels);
  sink.add("jetstream_consumer_num_ack_pending", "Number of pending acks from a consumer", c.num_ack_pending, labels);
  sink.add("jetstream_consumer_num_redelivered", "Number of redelivered messages from a consumer", c.num_redelivered, labels);
  sink.add("jetstream_consumer_num_waiting", "Number of inflight fetch requests from a pull consumer", c.num_waiting, labels);
  sink.add("jetstream_consumer_num_pending", "Number of pending messages from a consumer", c.num_pending, labels);
  sink.add("jetstream_consumer_ack_floor_stream_seq", "Number of ack floor stream seq from a consumer", c.ack_floor.stream_seq, labels);
  sink.add("jetstream_consumer_ack_floor_consumer_seq", "Number of ack floor consumer seq from a consumer", c.ack_floor.consumer_seq, labels);
}
