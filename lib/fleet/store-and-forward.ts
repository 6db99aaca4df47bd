/**
 * store-and-forward.ts keeps an edge's data while its uplink is down, with
 * NATS's own parts (JetStream domains and stream sourcing): an edge with
 * `[leafnodes] store_and_forward = ["sensors.>"]` runs JetStream in its own
 * domain (its node name) and keeps those subjects in its stream
 * UNIBUS_FORWARD; a hub that enrolls edges keeps the stream UNIBUS_FLEET,
 * which sources UNIBUS_FORWARD from every enrolled edge that has one
 * (through `$JS.<edge>.API`). While the uplink is down the edge's stream
 * fills; once it is back the hub's sourcing catches up, in order, each
 * message once. Core NATS still carries the live traffic.
 */
import type { NatsConnection } from "@nats-io/transport-node";

/** StreamSource is one source of a stream as the JetStream API takes it. */
interface StreamSource { name: string; external?: { api: string; deliver: string } }
/** StreamInfo is the part of `$JS.API.STREAM.INFO` this module reads. */
interface StreamInfo {
  config: Record<string, unknown> & { subjects?: string[]; sources?: StreamSource[]; num_replicas?: number };
  state: { messages: number };
  sources?: { name: string; lag: number; active?: number; external?: { api?: string } }[];
}

/** NOT_FOUND is JetStream's error code for a stream that does not exist. */
const NOT_FOUND = 10059;

/** jsApi sends one JetStream API request (on this server's own domain) and returns its answer; an API error throws with its code. */
async function jsApi<T>(nc: NatsConnection, subject: string, body: unknown = ""): Promise<T> {
  const msg = await nc.request(`$JS.API.${subject}`, typeof body === "string" ? body : JSON.stringify(body), { timeout: 5_000 });
  const answer = msg.json<T & { error?: { code?: number; err_code?: number; description?: string } }>();
  if (answer.error) throw Object.assign(new Error(`${subject}: ${answer.error.description ?? "JetStream error"}`), { errCode: answer.error.err_code });
  return answer;
}

/** streamInfo returns a stream's info, or undefined when it does not exist. */
async function streamInfo(nc: NatsConnection, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsApi<StreamInfo>(nc, `STREAM.INFO.${name}`);
  } catch (err) {
    if ((err as { errCode?: number }).errCode === NOT_FOUND) return undefined;
    throw err;
  }
}

/** FORWARD_STREAM is an edge's stream of the subjects it stores and forwards. */
export const FORWARD_STREAM = "UNIBUS_FORWARD";
/** FLEET_STREAM is the hub's stream that sources every forwarding edge's stream. */
export const FLEET_STREAM = "UNIBUS_FLEET";

/** ensureForwardStream creates or updates an edge's UNIBUS_FORWARD for subjects; it returns the stream's message count. */
export async function ensureForwardStream(nc: NatsConnection, subjects: string[]): Promise<number> {
  const info = await streamInfo(nc, FORWARD_STREAM);
  if (!info) {
    const created = await jsApi<StreamInfo>(nc, `STREAM.CREATE.${FORWARD_STREAM}`, { name: FORWARD_STREAM, subjects, storage: "file", retention: "limits", discard: "old", description: "unibus store and forward: kept here until the hub has sourced it" });
    return created.state.messages;
  }
  if (JSON.stringify([...info.config.subjects ?? []].sort()) !== JSON.stringify([...subjects].sort())) {
    await jsApi(nc, `STREAM.UPDATE.${FORWARD_STREAM}`, { ...info.config, subjects });
  }
  return info.state.messages;
}

/** forwardingEdges asks each candidate edge's domain whether it keeps UNIBUS_FORWARD (the hub sources only those). */
export async function forwardingEdges(nc: NatsConnection, edges: string[]): Promise<string[]> {
  const answers = await Promise.all(edges.map(async (edge) => {
    try {
      const msg = await nc.request(`$JS.${edge}.API.STREAM.INFO.${FORWARD_STREAM}`, "", { timeout: 1_500 });
      const body = msg.json<{ error?: unknown }>();
      return body.error ? undefined : edge;
    } catch {
      return undefined; // not connected now, or no stream: asked again next round
    }
  }));
  return answers.filter((e): e is string => Boolean(e));
}

/** FleetStreamState is the hub stream's size and each edge's backlog as the sourcing sees it. */
export interface FleetStreamState { messages: number; sources: { edge: string; lag: number; active?: number }[] }

/**
 * ensureFleetStream makes the hub's UNIBUS_FLEET source UNIBUS_FORWARD from
 * each edge in `edges` (kept sources are never dropped: an edge that is away
 * stays sourced so its backlog arrives when it returns); replicas up to 3,
 * `replicas` being the hub cluster's member count (an existing stream with
 * fewer is raised to it).
 */
export async function ensureFleetStream(nc: NatsConnection, edges: string[], replicas: number): Promise<FleetStreamState> {
  const source = (edge: string): StreamSource => ({ name: FORWARD_STREAM, external: { api: `$JS.${edge}.API`, deliver: "" } });
  let info = await streamInfo(nc, FLEET_STREAM);
  if (!info) {
    if (edges.length === 0) return { messages: 0, sources: [] };
    info = await jsApi<StreamInfo>(nc, `STREAM.CREATE.${FLEET_STREAM}`, { name: FLEET_STREAM, sources: edges.map(source), storage: "file", retention: "limits", discard: "old", num_replicas: Math.min(3, Math.max(1, replicas)), description: "unibus store and forward: every edge's UNIBUS_FORWARD" });
  } else {
    const have = new Set((info.config.sources ?? []).map((x) => x.external?.api ?? ""));
    const missing = edges.filter((e) => !have.has(`$JS.${e}.API`));
    if (missing.length) info = await jsApi<StreamInfo>(nc, `STREAM.UPDATE.${FLEET_STREAM}`, { ...info.config, sources: [...(info.config.sources ?? []), ...missing.map(source)] });
    // Made while the hub was smaller (or by a unibus that counted the config's peers): raised once the members are there.
    const want = Math.min(3, Math.max(1, replicas));
    if ((info.config.num_replicas ?? 1) < want) {
      info = await jsApi<StreamInfo>(nc, `STREAM.UPDATE.${FLEET_STREAM}`, { ...info.config, num_replicas: want }).catch(() => info!);
    }
  }
  const edgeOf = (api?: string) => /^\$JS\.(.+)\.API$/.exec(api ?? "")?.[1] ?? "?";
  return {
    messages: info.state.messages,
    sources: (info.sources ?? []).map((x) => ({ edge: edgeOf(x.external?.api), lag: x.lag, ...(x.active !== undefined ? { active: x.active } : {}) })),
  };
}
