/**
 * recover.ts makes the last survivor of a lost majority a cluster of one,
 * with its data, writable again and ready for new boxes to join. It is
 * nats-server's own disaster-recovery path (2.15, `$JS.API.META.RESCUE`):
 * the survivor's meta group lowers its quorum to 1 for a few minutes, elects
 * itself, and the lost servers are peer-removed the normal way
 * (`$JS.API.SERVER.REMOVE`, as `unibus remove` does); each stream group then
 * evicts the removed peers and elects the survivor. Streams keep their
 * configured replica count; nats places the missing replicas on new members
 * as they join, so an R3 stream is R3 again once two new boxes are in.
 *
 * Like k3s's --cluster-reset, Swarm's --force-new-cluster and Consul's
 * peers.json, it is only safe when the others are gone for good: two halves
 * that both take writes cannot be merged. So it refuses while the meta group
 * has a leader, while a route to another member is up, while another
 * member's route or join port answers, or while another server was heard
 * from recently (unless forced), and it says first what is lost: every
 * write only the dead members acknowledged.
 */
import type { UnibusConfig } from "../config/load.ts";
import { parsePeer } from "../config/units.ts";
import { RefusedError, RuntimeError } from "../errors.ts";
import { probePeer } from "../diagnosis/peer-probe.ts";
import { MonitorClient } from "../natsd/monitor.ts";
import type { Jsz, Routez, StreamDetail } from "../natsd/monitoring-types.ts";
import { namesPeer } from "../natsd/raft-peer-id.ts";
import { SystemClient } from "../natsd/system-client.ts";
import { MemberRegistry } from "./members.ts";
import { metaGroup, recordRemoval, removeFromMeta, type MetaGroup } from "./retire.ts";
import { readMarks, STREAM_MARKS_EVERY_MS, type StreamMark } from "./stream-marks.ts";
import { connectJetstream } from "../backup/connect.ts";
import { CLIENT_ACCOUNT } from "../mqtt/streams.ts";

/** RECENT_CONTACT_MS: another server heard from this recently may still be alive (a reboot, a cable): recover waits. */
export const RECENT_CONTACT_MS = 60_000;
/** LEADER_DROP_MS: nats-server's followers drop a silent meta leader within this (raft.go: election timeout of at most 9 s after the last heartbeat). */
export const LEADER_DROP_MS = 10_000;

/**
 * recoverRetryInS says how long (whole seconds) to wait before recover can
 * go ahead after the others went down, given how long ago each was last
 * heard (ms; undefined when unknown, which counts as just now): until nats
 * has dropped the lost leader and nothing was heard for RECENT_CONTACT_MS.
 */
export function recoverRetryInS(lastHeardMs: readonly (number | undefined)[]): number {
  const latest = Math.min(RECENT_CONTACT_MS, ...lastHeardMs.map((ms) => ms ?? 0));
  return Math.ceil(Math.max(LEADER_DROP_MS, RECENT_CONTACT_MS - (lastHeardMs.length ? latest : 0)) / 1000);
}
/** PROBE_MS bounds each probe of a lost member's port (ms). */
const PROBE_MS = 2_000;

/** LostMember is a server of the meta group other than this node, with where it was reachable. */
export interface LostMember {
  name: string;
  /** Its route and join addresses (host:port), from the members list. */
  addresses: string[];
  /** How long ago this node last heard from it, when nats knows (ms). */
  lastHeardMs?: number;
}

/** StreamHere is one stream with a replica on this node, as it stands here. */
export interface StreamHere {
  account: string;
  name: string;
  replicas: number;
  messages: number;
  lastSeq: number;
  /** The leader this node last knew of (none once the majority is gone). */
  leader?: string;
}

/** RecoverPlan is what recover would do, and why it may not. */
export interface RecoverPlan {
  self: string;
  cluster: string;
  meta: MetaGroup;
  lost: LostMember[];
  streams: StreamHere[];
  /** Each reason to think another member is alive; empty when all look dead. */
  aliveSigns: string[];
  /** What each stream's leader last reported while the majority was there (stream-marks.ts), by stream name. */
  marks: StreamMark[];
  /** When the plan was made (ms since epoch). */
  now: number;
}

/**
 * planRecover reads the running node (meta group, routes, streams) and probes
 * the other members' route and join ports. It throws RefusedError when there is
 * nothing to recover (a meta leader exists, or this node is alone).
 */
export async function planRecover(config: UnibusConfig): Promise<RecoverPlan> {
  const cluster = config.cluster!;
  const monitor = new MonitorClient(config.monitor.listen.text);
  const meta = await metaGroup(config);
  const self = config.node.name;
  if (meta.leader) {
    const seen = readMarks(config.node.dataDir).routesSeen;
    const now = Date.now();
    const heard = meta.servers.filter((s) => !namesPeer(s, self)).map((s) => seen[s.name] === undefined ? undefined : Math.max(0, now - seen[s.name]!));
    throw new RefusedError(`the JetStream meta group has a leader (${meta.leader}): the cluster still has its majority and nothing needs recovering. Take a dead member out with \`unibus remove NAME\` (unibus status names them). If the other members went down just now, try again in about ${recoverRetryInS(heard)} s: nats drops a lost meta leader within about ${LEADER_DROP_MS / 1000} s, and recover waits until nothing was heard from the others for ${RECENT_CONTACT_MS / 1000} s`);
  }
  const others = meta.servers.filter((s) => !namesPeer(s, self));
  if (others.length === 0) {
    throw new RefusedError(`this node is the only server in its JetStream meta group: there is no lost member to take out. A cluster of one elects no meta leader until a second box joins (unibus token create)`);
  }
  const jsz = await monitor.get<Jsz>("jsz", "accounts=true&streams=true&config=true");
  const routez = await monitor.get<Routez>("routez").catch(() => undefined);
  const registry = new MemberRegistry(config.node.dataDir);
  const marks = readMarks(config.node.dataDir);
  const now = Date.now();
  const lost: LostMember[] = others.map((s) => {
    const record = registry.get(s.name);
    const replica = jsz.meta_cluster?.replicas?.find((r) => r.name === s.name);
    const addresses = [record?.route, record?.service].filter((a): a is string => Boolean(a));
    // nats reports `active` as nanoseconds since it last heard from the peer (a meta leader knows; a
    // follower says 0); the node also notes every STREAM_MARKS_EVERY_MS when a route to it was up.
    const fromNats = replica?.active ? Math.round(replica.active / 1e6) : undefined;
    const routeSeen = marks.routesSeen[s.name];
    const fromRoutes = routeSeen !== undefined ? Math.max(0, now - routeSeen) : undefined;
    const known = [fromNats, fromRoutes].filter((x): x is number => x !== undefined);
    const lastHeardMs = known.length ? Math.min(...known) : undefined;
    return { name: s.name, addresses, ...(lastHeardMs !== undefined ? { lastHeardMs } : {}) };
  });
  // Configured peers the members list does not name (a cluster set up by hand) are probed too.
  const known = new Set(lost.flatMap((l) => l.addresses.map((a) => a.toLowerCase())));
  const unnamed = cluster.routes.map((r) => r.text).filter((a) => !known.has(a.toLowerCase()));

  const aliveSigns: string[] = [];
  const lostNames = new Set(lost.map((l) => l.name));
  for (const r of routez?.routes ?? []) {
    if (r.remote_name && r.remote_name !== self) aliveSigns.push(`a route to ${r.remote_name} (${r.ip}:${r.port}) is up right now${lostNames.has(r.remote_name) ? "" : " (a server that is not in the meta group)"}`);
  }
  for (const l of lost) {
    if (l.lastHeardMs !== undefined && l.lastHeardMs < RECENT_CONTACT_MS) aliveSigns.push(`${l.name} was heard from ${Math.round(l.lastHeardMs / 1000)} s ago (recover waits until nothing was heard for ${RECENT_CONTACT_MS / 1000} s; routes are noted every ${STREAM_MARKS_EVERY_MS / 1000} s)`);
  }
  const probes = [...lost.flatMap((l) => l.addresses.map((a) => ({ who: l.name, address: a }))), ...unnamed.map((a) => ({ who: "a configured peer", address: a }))];
  const answers = await Promise.all(probes.map(async (p) => {
    const hp = parsePeer(p.address);
    if (typeof hp === "string") return undefined;
    const probe = await probePeer(hp.host, hp.port, undefined, PROBE_MS);
    return probe.reachable ? `${p.who === "a configured peer" && probe.serverName ? probe.serverName : p.who}'s port ${p.address} accepts connections` : undefined;
  }));
  aliveSigns.push(...answers.filter((a): a is string => Boolean(a)));

  const streams: StreamHere[] = [];
  for (const account of jsz.account_details ?? []) {
    for (const s of account.stream_detail ?? []) streams.push(streamHere(account.name, s));
  }
  return { self, cluster: cluster.name, meta, lost, streams, aliveSigns, marks: marks.streams, now };
}

function streamHere(account: string, s: StreamDetail): StreamHere {
  return {
    account, name: s.name, replicas: s.config?.num_replicas ?? 1, messages: s.state.messages, lastSeq: s.state.last_seq,
    ...(s.cluster?.leader ? { leader: s.cluster.leader } : {}),
  };
}

/**
 * describeLoss says, per stream here, what survives and what is lost: this
 * node holds every message up to its last sequence. Writes the dead members
 * acknowledged beyond it (two of three suffice for an R3 ack) are gone: as
 * many as the leader last reported beyond it (stream-marks.ts), plus any
 * acknowledged after that report. Streams with no replica here are gone whole.
 */
export function describeLoss(plan: RecoverPlan): string[] {
  const out: string[] = [];
  const dead = plan.lost.map((l) => l.name).join(" and ");
  const ago = (at: number) => `${Math.max(0, Math.round((plan.now - at) / 1000))} s ago`;
  for (const s of plan.streams) {
    const where = s.account === "$G" ? s.name : `${s.account} > ${s.name}`;
    const mark = s.account === "$G" ? plan.marks.find((m) => m.name === s.name) : undefined;
    const kept = `kept here up to sequence ${s.lastSeq} (${s.messages} messages)`;
    if (!mark) {
      out.push(`stream ${where} (R${s.replicas}): ${kept}; no leader report was kept, so how many writes ${dead} acknowledged beyond it is unknown: those are lost`);
    } else if (mark.lastSeq > s.lastSeq) {
      out.push(`stream ${where} (R${s.replicas}): ${kept}; ${reporter(mark)} reported sequence ${mark.lastSeq} ${ago(mark.at)}: ${mark.lastSeq - s.lastSeq} acknowledged writes are lost, and any acknowledged after that report by ${dead} alone`);
    } else {
      out.push(`stream ${where} (R${s.replicas}): ${kept}; ${reporter(mark)} last reported sequence ${mark.lastSeq} ${ago(mark.at)}, all of them here: only writes acknowledged after that report by ${dead} alone are lost`);
    }
  }
  const here = new Set(plan.streams.filter((s) => s.account === "$G").map((s) => s.name));
  const missing = plan.marks.filter((m) => !here.has(m.name));
  for (const m of missing) out.push(`stream ${m.name} (R${m.replicas}) has no replica here: lost whole (${reporter(m)} reported sequence ${m.lastSeq} ${ago(m.at)}); restore it from a backup`);
  out.push(`streams, KV buckets and object stores with no replica on ${plan.self} (R1 or R2 placed on ${dead}) are lost whole; consumers resume from their state here`);
  return out;
}

/** reporter names who gave a stream's mark: its leader, or the cluster when no leader was known then. */
function reporter(m: StreamMark): string {
  return m.leader ? `its leader ${m.leader}` : "the cluster";
}

/** RecoverResult is what recoverAlone did and how long each part took (ms). */
export interface RecoverResult { removed: string[]; leaderMs: number; totalMs: number; writable: string[]; notYetWritable: string[]; membersRecorded: boolean }

/**
 * recoverAlone applies the plan on the running node: the meta rescue (quorum
 * 1), then the lost servers removed one by one, then their tombstones in the
 * members list, then it waits for every stream here to be led by this node.
 * A failure part-way leaves a state a second run completes: an unused rescue
 * expires after 5 minutes and the natural quorum returns.
 */
export async function recoverAlone(config: UnibusConfig, plan: RecoverPlan, step: (text: string) => void = () => {}): Promise<RecoverResult> {
  const t0 = Date.now();
  const monitor = new MonitorClient(config.monitor.listen.text);
  {
    await using sys = await SystemClient.connect(config, { name: "unibus-recover" });
    step("lowering the meta group's quorum to 1 on this node ($JS.API.META.RESCUE)");
    const answers = await sys.requestAll<{ server?: string; error?: { description?: string }; prev_quorum?: number; new_quorum?: number }>("$JS.API.META.RESCUE", { quorum_needed: 1 }, { timeoutMs: 3_000 });
    const mine = answers.find((a) => a.server === plan.self);
    const strangers = answers.filter((a) => a.server && a.server !== plan.self).map((a) => a.server);
    if (strangers.length) throw new RuntimeError(`${strangers.join(", ")} answered the rescue too: they are alive and connected; stop them first or run \`unibus remove\` from the majority. Their lowered quorum expires by itself in 5 minutes`);
    if (!mine) throw new RuntimeError("this node's nats-server did not answer the meta rescue request ($JS.API.META.RESCUE needs nats-server 2.15 or later); nothing was changed");
    if (mine.error) throw new RuntimeError(`nats-server refused the meta rescue: ${mine.error.description ?? "no reason given"}; nothing was changed`);
  }
  step("waiting for this node to lead the meta group");
  let meta = plan.meta;
  const until = Date.now() + 30_000;
  for (;;) {
    meta = await metaGroup(config).catch(() => meta);
    if (meta.leader === plan.self) break;
    if (Date.now() > until) throw new RuntimeError(`this node did not become meta leader within 30 s of the rescue${meta.leader ? ` (${meta.leader} leads: another server is alive)` : ""}; the lowered quorum expires by itself in 5 minutes, nothing else was changed`);
    await sleep(200);
  }
  const leaderMs = Date.now() - t0;
  const removed: string[] = [];
  for (const l of plan.lost) {
    step(`removing ${l.name} from the meta group ($JS.API.SERVER.REMOVE)`);
    try {
      await removeFromMeta(config, l.name, meta, { timeoutMs: 30_000 });
    } catch (err) {
      throw new RuntimeError(`${(err as Error).message}. Removed so far: ${removed.join(", ") || "none"}; run \`unibus recover\` again to finish`);
    }
    removed.push(l.name);
    meta = await metaGroup(config).catch(() => meta);
  }
  let membersRecorded = true;
  for (const name of removed) {
    step(`marking ${name} removed in the members list`);
    try {
      await recordRemoval(config, name);
    } catch {
      // No CA holder answered (this node holds no CA key, and the ones that did are dead): keep the tombstone here.
      membersRecorded = false;
      const registry = new MemberRegistry(config.node.dataDir);
      const record = registry.get(name);
      if (record) {
        registry.put({ ...record, removed: true, updatedAt: Math.max(Date.now(), record.updatedAt + 1) });
        registry.save();
      }
    }
  }
  step("waiting for every stream here to be led by this node");
  const writable = new Set<string>();
  const streamsUntil = Date.now() + 60_000;
  const want = plan.streams.map((s) => `${s.account} > ${s.name}`);
  // jsz names this node the leader of a stream whose peers were just evicted about 5 s before the stream takes
  // writes (on the bed: recover said "writable" at 33.7 s, nats logged the new stream leader at 39.1 s and
  // publishes failed until then): a stream of the clients' account counts once its leader answers STREAM.INFO.
  const nc = await connectJetstream(config, "unibus-recover").catch(() => undefined);
  try {
    const answersAsLeader = async (account: string, name: string): Promise<boolean> => {
      if (account !== CLIENT_ACCOUNT || !nc) return true;
      const info = await nc.request(`$JS.API.STREAM.INFO.${name}`, "", { timeout: 1_000 })
        .then((m) => m.json<{ error?: unknown; config?: { num_replicas?: number }; cluster?: { leader?: string } }>(), () => undefined);
      if (!info || info.error) return false;
      return info.cluster?.leader === plan.self || (!info.cluster?.leader && (info.config?.num_replicas ?? 1) === 1);
    };
    while (writable.size < want.length && Date.now() < streamsUntil) {
      const jsz = await monitor.get<Jsz>("jsz", "accounts=true&streams=true").catch(() => undefined);
      for (const account of jsz?.account_details ?? []) {
        for (const s of account.stream_detail ?? []) {
          const key = `${account.name} > ${s.name}`;
          if (writable.has(key)) continue;
          // An R1 stream has no cluster leader to show: here, it is writable.
          const led = s.cluster?.leader === plan.self || (!s.cluster?.leader && (s.config?.num_replicas ?? 1) === 1);
          if (led && await answersAsLeader(account.name, s.name)) writable.add(key);
        }
      }
      if (writable.size < want.length) await sleep(250);
    }
  } finally {
    await nc?.close().catch(() => {});
  }
  return { removed, leaderMs, totalMs: Date.now() - t0, writable: want.filter((w) => writable.has(w)), notYetWritable: want.filter((w) => !writable.has(w)), membersRecorded };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
