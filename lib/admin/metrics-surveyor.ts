/**
 * metrics-surveyor.ts serves nats-surveyor's statz families (nats_core_*,
 * nats_survey_*) for the whole cluster from one node: every server answers
 * `$SYS.REQ.SERVER.PING` in the system account with its statsz, so one
 * scrape of any node fills surveyor's cluster dashboards (NATS overview,
 * clusters, node resources) without running surveyor. Names and labels are
 * surveyor's (server_cluster, server_name, server_id, server_route_name…).
 */
import type { ServerStatsMsg } from "../natsd/monitoring-types.ts";
import type { SystemClient } from "../natsd/system-client.ts";
import type { MetricSink } from "./metrics-exporter.ts";

/** Survey is one round of statsz answers. */
export interface Survey { stats: ServerStatsMsg[]; expected: number; durationMs: number; error?: string }

/** addSurveyorStatz writes surveyor's families for every server that answered. */
export function addSurveyorStatz(sink: MetricSink, survey: Survey): void {
  sink.add("nats_up", "1 when the system account could be surveyed", survey.error ? 0 : 1);
  sink.add("nats_survey_surveyed_count", "Servers that answered the last survey", survey.stats.length);
  sink.add("nats_survey_expected_count", "Servers the cluster should have", survey.expected);
  sink.add("nats_survey_duration_seconds", "How long the last survey took", survey.durationMs / 1000);
  const now = Date.now();
  for (const sm of survey.stats) {
    const s = sm.server;
    const st = sm.statsz;
    const server = { server_cluster: s.cluster ?? "", server_name: s.name, server_id: s.id };
    sink.add("nats_core_info", "General Server information Summary gauge", 1, { ...server, server_version: s.ver ?? "" });
    sink.add("nats_core_start_time", "Server start time gauge", Date.parse(st.start) * 1e6, server);
    sink.add("nats_core_uptime", "Server uptime gauge", (now - Date.parse(st.start)) / 1000, server);
    sink.add("nats_core_mem_bytes", "Server memory gauge", st.mem, server);
    sink.add("nats_core_go_memlimit_bytes", "Server GOMEMLIMIT gauge (0 if not set)", st.gomemlimit ?? 0, server);
    sink.add("nats_core_core_count", "Machine cores gauge", st.cores, server);
    sink.add("nats_core_cpu_percentage", "Server cpu utilization gauge", st.cpu, server);
    sink.add("nats_core_connection_count", "Current number of client connections gauge", st.connections, server);
    sink.add("nats_core_total_connection_count", "Total number of client connections serviced counter", st.total_connections, server);
    sink.add("nats_core_active_account_count", "Number of active accounts gauge", st.active_accounts, server);
    sink.add("nats_core_subs_count", "Current number of subscriptions gauge", st.subscriptions, server);
    sink.add("nats_core_sent_msgs_count", "Number of messages sent counter", st.sent.msgs, server);
    sink.add("nats_core_sent_bytes", "Number of bytes sent counter", st.sent.bytes, server);
    sink.add("nats_core_recv_msgs_count", "Number of messages received counter", st.received.msgs, server);
    sink.add("nats_core_recv_bytes", "Number of bytes received counter", st.received.bytes, server);
    sink.add("nats_core_slow_consumer_count", "Number of slow consumers gauge", st.slow_consumers, server);
    sink.add("nats_core_route_count", "Number of active routes gauge", st.routes?.length ?? 0, server);
    sink.add("nats_core_gateway_count", "Number of active gateways gauge", st.gateways?.length ?? 0, server);
    for (const r of st.routes ?? []) {
      const route = { ...server, server_route_name: r.name ?? "", server_route_name_id: String(r.rid) };
      sink.add("nats_core_route_sent_msg_count", "Number of messages sent over the route counter", r.sent.msgs, route);
      sink.add("nats_core_route_sent_bytes", "Number of bytes sent over the route counter", r.sent.bytes, route);
      sink.add("nats_core_route_recv_msg_count", "Number of messages received over the route counter", r.received.msgs, route);
      sink.add("nats_core_route_recv_bytes", "Number of bytes received over the route counter", r.received.bytes, route);
      sink.add("nats_core_route_pending_bytes", "Number of bytes pending in the route gauge", r.pending, route);
    }
    const js = st.jetstream;
    const jsLabels = { server_id: s.id, server_name: s.name, cluster_name: s.cluster ?? "" };
    sink.add("nats_core_jetstream_info", "Always 1. Contains metadata for cross-reference from other time-series", 1, {
      server_name: s.name, server_host: s.host ?? "", server_id: s.id, server_cluster: s.cluster ?? "", server_domain: s.domain ?? "", server_version: s.ver ?? "", server_jetstream: String(Boolean(s.jetstream)),
    });
    sink.add("nats_core_jetstream_enabled", "1 if Jetstream is enabled, 0 otherwise", js ? 1 : 0, jsLabels);
    if (!js) continue;
    if (js.config) {
      sink.add("nats_core_jetstream_filestore_size_bytes", "Capacity of jetstream filesystem storage in bytes", js.config.max_storage ?? 0, jsLabels);
      sink.add("nats_core_jetstream_memstore_size_bytes", "Capacity of jetstream in-memory store in bytes", js.config.max_memory ?? 0, jsLabels);
    }
    if (js.stats) {
      sink.add("nats_core_jetstream_filestore_used_bytes", "Consumption of jetstream filesystem storage in bytes", js.stats.storage ?? 0, jsLabels);
      sink.add("nats_core_jetstream_filestore_reserved_bytes", "Account Reservations of jetstream filesystem storage in bytes", js.stats.reserved_storage ?? 0, jsLabels);
      sink.add("nats_core_jetstream_memstore_used_bytes", "Consumption of jetstream in-memory store in bytes", js.stats.memory ?? 0, jsLabels);
      sink.add("nats_core_jetstream_memstore_reserved_bytes", "Account Reservations of jetstream in-memory store in bytes", js.stats.reserved_memory ?? 0, jsLabels);
      sink.add("nats_core_jetstream_accounts", "Number of NATS Accounts present on a Jetstream server", js.stats.accounts ?? 0, jsLabels);
      sink.add("nats_core_jetstream_ha_assets", "Number of HA (R>1) assets used by NATS", js.stats.ha_assets ?? 0, jsLabels);
      sink.add("nats_core_jetstream_api_requests", "Number of Jetstream API Requests processed", js.stats.api?.total ?? 0, jsLabels);
      sink.add("nats_core_jetstream_api_errors", "Number of Jetstream API Errors", js.stats.api?.errors ?? 0, jsLabels);
    }
    if (js.meta) {
      sink.add("nats_core_jetstream_cluster_raft_group_info", "Provides metadata about a RAFT Group", 1, { jetstream_domain: s.domain ?? "", raft_group: "_meta_", server_id: s.id, server_name: s.name, cluster_name: js.meta.name ?? "", leader: js.meta.leader ?? "" });
      sink.add("nats_core_jetstream_api_pending", "Number of Jetstream API in the queue waiting to be processed", js.meta.pending ?? 0, jsLabels);
      sink.add("nats_core_jetstream_cluster_raft_group_size", "Number of peers in a RAFT group", js.meta.cluster_size ?? 0, jsLabels);
      sink.add("nats_core_jetstream_cluster_raft_group_leader", "1 if this server is leader of raft group, 0 otherwise", js.meta.leader && js.meta.leader === s.name ? 1 : 0, jsLabels);
      sink.add("nats_core_jetstream_cluster_raft_group_replicas", "Info about replicas from leaders perspective", js.meta.replicas?.length ?? 0, jsLabels);
    }
  }
}

/**
 * StatzSurvey asks every server for its statsz over one kept-open system
 * account connection (re-opened after a failure), at most once a second.
 */
export class StatzSurvey {
  readonly #connect: () => Promise<SystemClient>;
  readonly #expected: () => number;
  #client?: SystemClient;
  #last?: { at: number; survey: Promise<Survey> };

  constructor(connect: () => Promise<SystemClient>, expected: () => number) {
    this.#connect = connect;
    this.#expected = expected;
  }

  /** survey returns the statsz of every server that answered within 1.5 s. */
  survey(): Promise<Survey> {
    if (this.#last && Date.now() - this.#last.at < 1_000) return this.#last.survey;
    const survey = this.#run();
    this.#last = { at: Date.now(), survey };
    return survey;
  }

  async #run(): Promise<Survey> {
    const t0 = Date.now();
    const expected = this.#expected();
    try {
      if (!this.#client || this.#client.isClosed()) this.#client = await this.#connect();
      const stats = await this.#client.requestAll<ServerStatsMsg>("$SYS.REQ.SERVER.PING", "", { expected, timeoutMs: 1_500 });
      stats.sort((a, b) => a.server.name.localeCompare(b.server.name));
      return { stats, expected, durationMs: Date.now() - t0 };
    } catch (err) {
      await this.#client?.close().catch(() => {});
      this.#client = undefined;
      return { stats: [], expected, durationMs: Date.now() - t0, error: (err as Error).message };
    }
  }

  /** close ends the kept connection. */
  async close(): Promise<void> {
    await this.#client?.close().catch(() => {});
    this.#client = undefined;
  }
}
