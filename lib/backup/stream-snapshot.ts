/**
 * stream-snapshot.ts speaks JetStream's own backup protocol, which nats.js
 * does not offer: `$JS.API.STREAM.SNAPSHOT.<stream>` makes the stream's
 * leader send a consistent snapshot (an s2-compressed tar of the stream's
 * store and its consumers) in chunks to a deliver subject, each chunk
 * carrying a reply subject that is its flow-control ack (nats-server keeps at
 * most its window, 8 MiB, unacked); an empty message ends it, with status
 * 204, or 408/500 when the server gave up. `$JS.API.STREAM.RESTORE.<stream>`
 * answers with a subject to send such a snapshot to, chunk by chunk as
 * requests (an empty answer acks one), and answers the final empty message
 * once the stream exists (nats-server's server/jetstream_api.go).
 */
import { createInbox, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { RuntimeError } from "../errors.ts";
import type { StreamState } from "./manifest.ts";

/** ApiError is JetStream's error object in an API answer. */
interface ApiError { code: number; err_code?: number; description: string }

/** StreamInfo is the part of JetStream's stream info backup and restore read. */
export interface StreamInfo { config: Record<string, unknown> & { name: string; num_replicas?: number }; state: StreamState; cluster?: { leader?: string; replicas?: unknown[] } }

/** SNAPSHOT_IDLE_MS is how long a snapshot or restore may go without a chunk before it is abandoned. */
const SNAPSHOT_IDLE_MS = 60_000;
/** RESTORE_WINDOW is how many restore chunks (128 KiB each) may await their ack at once. */
const RESTORE_WINDOW = 8;

async function api<T>(nc: NatsConnection, subject: string, body: unknown, timeoutMs = 10_000): Promise<T & { error?: ApiError }> {
  let msg: Msg;
  try {
    msg = await nc.request(subject, body === undefined ? "" : JSON.stringify(body), { timeout: timeoutMs });
  } catch (err) {
    throw new RuntimeError(`${subject}: ${(err as Error).message}${/timeout|no responders/i.test((err as Error).message) ? " (is JetStream enabled and does it have a meta leader? see unibus status)" : ""}`);
  }
  return msg.json<T & { error?: ApiError }>();
}

function apiFailure(what: string, error: ApiError): RuntimeError {
  return new RuntimeError(`${what}: ${error.description} (JetStream error ${error.err_code ?? error.code})`);
}

/** listStreams returns every stream of the account with its config and state, paging through the API. */
export async function listStreams(nc: NatsConnection): Promise<StreamInfo[]> {
  const out: StreamInfo[] = [];
  for (;;) {
    const page = await api<{ streams?: StreamInfo[] | null; total: number; limit: number }>(nc, "$JS.API.STREAM.LIST", { offset: out.length });
    if (page.error) throw apiFailure("cannot list the streams", page.error);
    const streams = page.streams ?? [];
    out.push(...streams);
    if (streams.length === 0 || out.length >= page.total) return out.sort((a, b) => a.config.name.localeCompare(b.config.name));
  }
}

/** streamInfo returns one stream's info, or undefined when it does not exist. */
export async function streamInfo(nc: NatsConnection, name: string): Promise<StreamInfo | undefined> {
  const info = await api<StreamInfo>(nc, `$JS.API.STREAM.INFO.${name}`, undefined);
  if (info.error?.err_code === 10059) return undefined;
  if (info.error) throw apiFailure(`cannot read stream ${name}`, info.error);
  return info;
}

/** ConsumerSummary is what a backup records of a consumer beside the snapshot (which holds its config and state). */
export interface ConsumerSummary { name: string; replicas: number }

/** listConsumers names a stream's consumers with their configured replicas (0: the stream's). */
export async function listConsumers(nc: NatsConnection, stream: string): Promise<ConsumerSummary[]> {
  const out: ConsumerSummary[] = [];
  for (;;) {
    const page = await api<{ consumers?: { name: string; config: { num_replicas?: number } }[] | null; total: number }>(nc, `$JS.API.CONSUMER.LIST.${stream}`, { offset: out.length });
    if (page.error) throw apiFailure(`cannot list the consumers of stream ${stream}`, page.error);
    const consumers = page.consumers ?? [];
    out.push(...consumers.map((c) => ({ name: c.name, replicas: c.config.num_replicas ?? 0 })));
    if (consumers.length === 0 || out.length >= page.total) return out;
  }
}

/** deleteStream deletes a stream (and its messages and consumers). */
export async function deleteStream(nc: NatsConnection, name: string): Promise<void> {
  const res = await api<{ success?: boolean }>(nc, `$JS.API.STREAM.DELETE.${name}`, undefined, 30_000);
  if (res.error && res.error.err_code !== 10059) throw apiFailure(`cannot delete stream ${name}`, res.error);
}

/**
 * snapshotStream takes a consistent snapshot of one stream and hands it to
 * sink chunk by chunk (sink runs before the chunk is acked, so writing to
 * disk bounds the memory in flight); it resolves with the stream's config and
 * state at the snapshot. Throws when the server refuses or gives up.
 */
export async function snapshotStream(nc: NatsConnection, name: string, sink: (chunk: Uint8Array) => void): Promise<StreamInfo> {
  const deliver = createInbox();
  let settle!: { resolve: () => void; reject: (err: Error) => void };
  const done = new Promise<void>((resolve, reject) => { settle = { resolve, reject }; });
  let idle: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(() => settle.reject(new RuntimeError(`snapshot of stream ${name}: no data from its leader for ${SNAPSHOT_IDLE_MS / 1000} s`)), SNAPSHOT_IDLE_MS);
  };
  const sub = nc.subscribe(deliver, {
    callback: (err, msg) => {
      if (err) return settle.reject(new RuntimeError(`snapshot of stream ${name}: ${err.message}`));
      arm();
      if (msg.data.length > 0) {
        try {
          sink(msg.data);
        } catch (e) {
          return settle.reject(e as Error);
        }
        if (msg.reply) nc.publish(msg.reply);
        return;
      }
      const code = msg.headers?.code ?? 0;
      if (code && code !== 204) return settle.reject(new RuntimeError(`snapshot of stream ${name} failed on its leader: ${code} ${msg.headers?.description ?? ""}`.trim()));
      settle.resolve();
    },
  });
  try {
    arm();
    const res = await api<{ config: StreamInfo["config"]; state: StreamState }>(nc, `$JS.API.STREAM.SNAPSHOT.${name}`, { deliver_subject: deliver }, 30_000);
    if (res.error) throw apiFailure(`cannot snapshot stream ${name}`, res.error);
    await done;
    return { config: res.config, state: res.state };
  } finally {
    clearTimeout(idle);
    sub.unsubscribe();
  }
}

/**
 * restoreStream creates a stream from a snapshot: config (with the name the
 * snapshot holds) and state as recorded at backup, chunks from the archive.
 * It resolves with the new stream's info once nats-server created it.
 * Throws when the server refuses (the stream exists, no room, no peers).
 */
export async function restoreStream(nc: NatsConnection, config: StreamInfo["config"], state: StreamState, chunks: Iterable<Uint8Array>, onBytes?: (n: number) => void): Promise<StreamInfo> {
  const name = config.name;
  const res = await api<{ deliver_subject?: string }>(nc, `$JS.API.STREAM.RESTORE.${name}`, { config, state }, 30_000);
  if (res.error) throw apiFailure(`cannot restore stream ${name}`, res.error);
  const deliver = res.deliver_subject;
  if (!deliver) throw new RuntimeError(`cannot restore stream ${name}: JetStream named no subject to send the snapshot to`);
  // Chunks go out in order on one connection, RESTORE_WINDOW of them unacknowledged at a time.
  const inFlight: Promise<void>[] = [];
  const send = async (chunk: Uint8Array): Promise<void> => {
    const ack = await nc.request(deliver, chunk, { timeout: SNAPSHOT_IDLE_MS }).catch((err: Error) => {
      throw new RuntimeError(`restore of stream ${name}: ${err.message}`);
    });
    if (ack.data.length > 0) {
      const body = ack.json<{ error?: ApiError }>();
      if (body.error) throw apiFailure(`restore of stream ${name}`, body.error);
    }
    onBytes?.(chunk.length);
  };
  try {
    for (const chunk of chunks) {
      const sent = send(chunk);
      sent.catch(() => {}); // awaited below in order; this only keeps an early failure from counting as unhandled
      inFlight.push(sent);
      if (inFlight.length >= RESTORE_WINDOW) await inFlight.shift();
    }
    while (inFlight.length) await inFlight.shift();
  } catch (err) {
    await Promise.allSettled(inFlight);
    throw err;
  }
  const end = await nc.request(deliver, new Uint8Array(0), { timeout: 10 * SNAPSHOT_IDLE_MS }).catch((err: Error) => {
    throw new RuntimeError(`restore of stream ${name}: no answer after the last chunk: ${err.message}`);
  });
  const created = end.json<{ error?: ApiError; stream_info?: StreamInfo }>();
  if (created.error) throw apiFailure(`restore of stream ${name}`, created.error);
  return created.stream_info ?? (await streamInfo(nc, name)) ?? (() => { throw new RuntimeError(`restore of stream ${name}: JetStream answered, but the stream is not there`); })();
}
