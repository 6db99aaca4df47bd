/**
 * streams-view.ts sorts what /jsz lists into what a person made: their
 * streams (each with its consumers' pending, ack-pending and redelivered
 * counts), KV buckets and object stores under their own names, and the
 * plumbing nats keeps in streams (MQTT sessions and retained messages in
 * $MQTT_*), which is counted but not listed among the user's streams.
 */
import type { ConsumerDetail, StreamDetail } from "../natsd/monitoring-types.ts";

/** StreamKind is what a stream is to the user. */
export type StreamKind = "stream" | "kv" | "object" | "internal";

/** ConsumerRow is one consumer of a stream. */
export interface ConsumerRow {
  name: string;
  /** Messages not yet delivered to it. */
  pending: number;
  /** Delivered and waiting for an acknowledgement. */
  ackPending: number;
  /** Delivered more than once (an ack that did not come in time). */
  redelivered: number;
  /** Pull requests waiting for messages. */
  waiting: number;
  /** Last delivery, as nats reports it (ISO time). */
  lastActive?: string;
  durable: boolean;
}

/** KV_PREFIX and OBJ_PREFIX are how nats's KV and object-store clients name their streams. */
const KV_PREFIX = "KV_";
const OBJ_PREFIX = "OBJ_";

/** streamKind tells a user stream from a KV bucket, an object store or nats's own plumbing. */
export function streamKind(d: Pick<StreamDetail, "name" | "config">): StreamKind {
  const subjects = d.config?.subjects ?? [];
  if (d.name.startsWith("$MQTT_") || d.name.startsWith("$")) return "internal";
  if (d.name.startsWith(KV_PREFIX) && (subjects.length === 0 || subjects.some((s) => s.startsWith("$KV.")))) return "kv";
  if (d.name.startsWith(OBJ_PREFIX) && (subjects.length === 0 || subjects.some((s) => s.startsWith("$O.")))) return "object";
  return "stream";
}

/** displayName is the name users gave: the bucket or store without nats's prefix. */
export function displayName(d: Pick<StreamDetail, "name" | "config">): string {
  const kind = streamKind(d);
  if (kind === "kv") return d.name.slice(KV_PREFIX.length);
  if (kind === "object") return d.name.slice(OBJ_PREFIX.length);
  return d.name;
}

/** consumerRows lists a stream's consumers, busiest (most pending) first. */
export function consumerRows(consumers: ConsumerDetail[] | undefined): ConsumerRow[] {
  return (consumers ?? []).map((c) => ({
    name: c.name,
    pending: c.num_pending,
    ackPending: c.num_ack_pending,
    redelivered: c.num_redelivered,
    waiting: c.num_waiting,
    ...(c.delivered.last_active ? { lastActive: c.delivered.last_active } : {}),
    durable: Boolean(c.config?.durable_name),
  })).sort((a, b) => b.pending + b.ackPending - (a.pending + a.ackPending) || a.name.localeCompare(b.name));
}
