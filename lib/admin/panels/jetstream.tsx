/**
 * jetstream.tsx is the JetStream panel: totals and limits, user streams with
 * their consumers, KV buckets and object stores under their own names, and
 * each replica as this node can vouch for it (lib/diagnosis/meta-view.ts).
 */
import { groupMembers, type ReplicaState } from "../../diagnosis/meta-view.ts";
import type { StreamDetail } from "../../natsd/monitoring-types.ts";
import type { Snapshot } from "../../natsd/snapshot.ts";
import { formatBytes, formatCount } from "../../format.ts";
import { overviewPanel } from "../panel.ts";
import { consumerRows, displayName, streamKind, type ConsumerRow, type StreamKind } from "../streams-view.ts";
import { ErrorLine } from "./_parts.tsx";

/** StreamRow is one stream, KV bucket or object store. */
export interface StreamRow {
  /** The name users gave (a bucket or store without nats's KV_/OBJ_ prefix). */
  name: string;
  kind: StreamKind;
  /** Its consumers with pending, ack pending and redelivered counts (user streams). */
  consumers: ConsumerRow[];
  account: string;
  replicas: number;
  messages: number;
  bytes: number;
  leader?: string;
  /**
   * Every replica once, this node's own included, with what this node can
   * vouch for: only the stream leader knows whether followers are current,
   * so on a follower the other followers are "unknown", never red.
   */
  peers: { name: string; leader: boolean; self: boolean; state: ReplicaState }[];
}

/** JetStreamView is the JetStream panel. */
export interface JetStreamView {
  enabled: boolean;
  metaLeader?: string;
  clusterSize?: number;
  totals: { streams: number; consumers: number; messages: number; bytes: number; memoryBytes: number; storageBytes: number; maxMemoryBytes?: number; maxStorageBytes?: number };
  streams: StreamRow[];
  kv: StreamRow[];
  objectStores: StreamRow[];
  /** nats's own streams ($MQTT_* sessions and retained messages), not listed among the user's. */
  internal: string[];
  error?: string;
}

function streamRow(self: string, account: string, d: StreamDetail): StreamRow {
  const leader = d.cluster?.leader;
  // /jsz lists the streams this node holds a replica of, so it is a member.
  const peers: StreamRow["peers"] = groupMembers(self, d.cluster);
  return {
    name: displayName(d),
    kind: streamKind(d),
    consumers: consumerRows(d.consumer_detail),
    account,
    replicas: d.config?.num_replicas ?? 1,
    messages: d.state.messages,
    bytes: d.state.bytes,
    ...(leader ? { leader } : {}),
    peers,
  };
}

/** jetstreamView builds the JetStream panel: user streams, KV buckets, object stores; nats's plumbing counted apart. */
export function jetstreamView(s: Snapshot, enabled: boolean, self: string): JetStreamView {
  const empty = { streams: 0, consumers: 0, messages: 0, bytes: 0, memoryBytes: 0, storageBytes: 0 };
  const none = { streams: [], kv: [], objectStores: [], internal: [] };
  if (!enabled) return { enabled: false, totals: empty, ...none };
  if (!s.jsz.ok) return { enabled, totals: empty, ...none, error: s.jsz.error };
  const j = s.jsz.data;
  const rows = (j.account_details ?? []).flatMap((a) => (a.stream_detail ?? []).map((d) => streamRow(self, a.name, d)));
  rows.sort((a, b) => a.name.localeCompare(b.name));
  return {
    enabled: !j.disabled,
    ...(j.meta_cluster?.leader ? { metaLeader: j.meta_cluster.leader } : {}),
    ...(j.meta_cluster?.cluster_size ? { clusterSize: j.meta_cluster.cluster_size } : {}),
    totals: {
      streams: j.streams, consumers: j.consumers, messages: j.messages, bytes: j.bytes, memoryBytes: j.memory, storageBytes: j.storage,
      ...(j.config?.max_memory !== undefined ? { maxMemoryBytes: j.config.max_memory } : {}),
      ...(j.config?.max_storage !== undefined ? { maxStorageBytes: j.config.max_storage } : {}),
    },
    streams: rows.filter((r) => r.kind === "stream"),
    kv: rows.filter((r) => r.kind === "kv"),
    objectStores: rows.filter((r) => r.kind === "object"),
    internal: rows.filter((r) => r.kind === "internal").map((r) => r.name),
  };
}

const REPLICA_CLASS = { current: "ok", behind: "bad", offline: "bad", unknown: "muted" } as const;
const REPLICA_MARK = { current: " ✓", behind: " ✗", offline: " offline", unknown: " ?" } as const;
const REPLICA_TITLE = {
  current: "current",
  behind: "behind the stream leader",
  offline: "offline",
  unknown: "only the stream leader knows whether this replica is current; open the leader's page",
} as const;

const STREAM_HEAD = { stream: "stream", kv: "bucket", object: "object store", internal: "stream" } as const;

function StreamTable({ rows, label, id }: { rows: StreamRow[]; label: string; id: string }) {
  if (!rows.length) return <p class="muted">No {label}.</p>;
  return (
    <div class="scroll">
      <table id={id}>
        <thead><tr><th>{STREAM_HEAD[rows[0]!.kind]}</th><th class="num">replicas</th><th class="num">messages</th><th class="num">bytes</th><th>replicas current</th></tr></thead>
        <tbody>
          {rows.map((s) => (
            <>
              <tr data-stream={s.name} data-kind={s.kind}>
                <td><strong>{s.name}</strong>{s.kind === "stream" ? <span class="muted"> · {s.consumers.length} consumer{s.consumers.length === 1 ? "" : "s"}</span> : null}</td><td class="num">{s.replicas}</td><td class="num">{formatCount(s.messages)}</td><td class="num">{formatBytes(s.bytes)}</td>
                <td>{s.peers.map((p) => <span class={REPLICA_CLASS[p.state]} data-replica={p.name} data-state={p.state} title={REPLICA_TITLE[p.state]}>{p.name}{p.leader ? "*" : ""}{p.self ? " (this node)" : ""}{REPLICA_MARK[p.state]} </span>)}</td>
              </tr>
              {s.kind === "stream" && s.consumers.length ? (
                <tr class="consumers"><td colspan={5}>
                  <table class="inner">
                    <thead><tr><th>consumer</th><th class="num">pending</th><th class="num">ack pending</th><th class="num">redelivered</th></tr></thead>
                    <tbody>{s.consumers.map((c) => (
                      <tr data-consumer={`${s.name}/${c.name}`} data-pending={c.pending} data-ack-pending={c.ackPending} data-redelivered={c.redelivered}>
                        <td>{c.name}{c.durable ? "" : <span class="muted"> (ephemeral)</span>}</td>
                        <td class={`num${c.pending ? " warn" : ""}`}>{formatCount(c.pending)}</td>
                        <td class={`num${c.ackPending ? " warn" : ""}`}>{formatCount(c.ackPending)}</td>
                        <td class={`num${c.redelivered ? " bad" : ""}`}>{formatCount(c.redelivered)}</td>
                      </tr>
                    ))}</tbody>
                  </table>
                </td></tr>
              ) : null}
            </>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** jetstreamPanel shows streams, buckets, object stores and their replicas. */
export const jetstreamPanel = overviewPanel({
  id: "jetstream",
  title: "JetStream",
  wide: true,
  view: (i): JetStreamView => jetstreamView(i.snapshot, i.config.jetstream.enabled, i.cluster.self),
  render: (j) => (
    <>
      <h2>JetStream</h2>
      <ErrorLine text={j.error} />
      {!j.enabled ? <p class="muted">JetStream is disabled.</p> : (
        <>
          <p>
            {j.metaLeader ? <>meta leader <strong>{j.metaLeader}</strong>{j.clusterSize ? ` of ${j.clusterSize}` : ""} · </> : null}
            {j.totals.streams} streams · {j.totals.consumers} consumers · {formatCount(j.totals.messages)} messages · {formatBytes(j.totals.bytes)}
            {j.totals.maxStorageBytes !== undefined ? ` · file ${formatBytes(j.totals.storageBytes)} of ${formatBytes(j.totals.maxStorageBytes)}` : ""}
            {j.totals.maxMemoryBytes !== undefined ? ` · memory ${formatBytes(j.totals.memoryBytes)} of ${formatBytes(j.totals.maxMemoryBytes)}` : ""}
          </p>
          <h3>Streams</h3>
          <StreamTable rows={j.streams} label="streams" id="streams" />
          <h3>KV buckets</h3>
          <StreamTable rows={j.kv} label="KV buckets" id="kv-buckets" />
          <h3>Object stores</h3>
          <StreamTable rows={j.objectStores} label="object stores" id="object-stores" />
          {j.internal.length ? <p id="internal-streams" class="muted">Not listed: {j.internal.length} stream{j.internal.length === 1 ? "" : "s"} nats keeps for itself ({j.internal.join(", ")}: MQTT sessions and retained messages).</p> : null}
        </>
      )}
    </>
  ),
});
