/**
 * retire.ts takes a member out of the cluster for good: out of the
 * JetStream meta group (`$JS.API.SERVER.REMOVE` through the node's own
 * system-account connection, so the remaining servers count a quorum without
 * it) and out of the members list (a tombstone recorded by a CA holder, which
 * every member then learns). It refuses what would break the cluster:
 * removing the last quorum member, a member that is still running (it would
 * rejoin), or the only CA holder.
 */
import { readFileSync } from "node:fs";
import type { UnibusConfig } from "../config/load.ts";
import { joinHostPort, parsePeer, type HostPort } from "../config/units.ts";
import { RuntimeError, UsageError } from "../errors.ts";
import { MonitorClient } from "../natsd/monitor.ts";
import type { Jsz, Routez } from "../natsd/monitoring-types.ts";
import { namesPeer, raftPeerId } from "../natsd/raft-peer-id.ts";
import { SystemClient } from "../natsd/system-client.ts";
import { majorityOf } from "../diagnosis/quorum.ts";
import { presentedCertificate, trustFile } from "./presented-certificate.ts";
import { MemberRegistry, type MemberRecord } from "./members.ts";
import { wireRequest } from "./wire.ts";

/** MetaGroup is the JetStream meta group as this node's nats-server reports it. */
export interface MetaGroup {
  leader?: string;
  size: number;
  /**
   * Every server in the group with whether it is reachable and its RAFT peer
   * id; a server this node has not learned the name of is listed by nats as
   * "Server name unknown at this time (peerID: …)".
   */
  servers: { name: string; online: boolean; peer?: string }[];
}

/** metaGroup reads /jsz's meta_cluster. */
export async function metaGroup(config: UnibusConfig): Promise<MetaGroup> {
  const jsz = await new MonitorClient(config.monitor.listen.text).get<Jsz>("jsz")
    .catch((err: Error) => {
      throw new RuntimeError(`cannot read the JetStream meta group from this node's nats-server (${err.message}); is unibus running with ${config.file}?`);
    });
  const meta = jsz.meta_cluster ?? {};
  const servers = [...(meta.leader ? [{ name: meta.leader, online: true, peer: raftPeerId(meta.leader) }] : []), ...(meta.replicas ?? []).map((r) => ({ name: r.name, online: !r.offline, ...(r.peer ? { peer: r.peer } : {}) }))];
  // A follower lists the leader and the other followers, never itself.
  if (jsz.meta_cluster && !servers.some((s) => s.name === config.node.name)) servers.push({ name: config.node.name, online: true });
  return { ...(meta.leader ? { leader: meta.leader } : {}), size: meta.cluster_size ?? servers.length, servers };
}

/** connectedNames are the servers this node has a route to right now. */
async function connectedNames(config: UnibusConfig): Promise<Set<string>> {
  const routez = await new MonitorClient(config.monitor.listen.text).get<Routez>("routez").catch(() => undefined);
  return new Set((routez?.routes ?? []).map((r) => r.remote_name ?? "").filter(Boolean));
}

/** RetirePlan is what a remove would do, checked. */
export interface RetirePlan { name: string; inMeta: boolean; record?: MemberRecord; meta: MetaGroup }

/**
 * planRetire checks that name can go: it is a member or in the meta group,
 * the others keep a majority without it, it is not the only CA holder, and
 * (unless it is this node leaving, or forced) it is not running.
 */
export async function planRetire(config: UnibusConfig, name: string, options: { self: boolean; force: boolean }): Promise<RetirePlan> {
  const registry = new MemberRegistry(config.node.dataDir);
  const record = registry.get(name);
  const meta = await metaGroup(config);
  // Match by RAFT peer id too: a node that restarted while name was down knows it only by that id.
  const inMeta = meta.servers.some((s) => namesPeer(s, name));
  if (!inMeta && (!record || record.removed)) {
    const known = [...new Set([...meta.servers.map((s) => s.name), ...registry.active().map((m) => m.name)])].sort();
    throw new UsageError(`"${name}" is not a member of cluster "${config.cluster!.name}"${record?.removed ? " any more (it was removed)" : ""}; members: ${known.join(", ") || "none known"}`);
  }
  if (!meta.leader) throw new RuntimeError(`the JetStream meta group has no leader right now: nothing can be removed safely; bring members back first (unibus status), or, if this box is the last survivor of a lost majority and the others are gone for good: sudo unibus recover here`);
  const after = meta.servers.filter((s) => !namesPeer(s, name));
  const size = inMeta ? meta.size - 1 : meta.size;
  // Reachable means this node has a route to it now (the meta group notices a lost peer later).
  const connected = await connectedNames(config);
  const online = after.filter((s) => s.name === config.node.name || (s.online && connected.has(s.name))).length;
  const majority = majorityOf(size);
  if (size < 1) throw new UsageError(`"${name}" is the last server of the JetStream meta group: refusing to remove it`);
  if (online < majority) {
    throw new UsageError(`removing "${name}" would leave the JetStream meta group without a majority (${online} of ${size} remaining servers reachable, ${majority} needed): refusing. Bring the offline members back first (unibus status names them)`);
  }
  const holders = registry.active().filter((m) => m.service);
  if (!options.force && holders.length === 1 && holders[0]!.name === name) {
    throw new UsageError(`"${name}" is the only member holding the CA key: without it no box can join and no certificate is renewed. Refusing; add --force to remove it anyway`);
  }
  if (!options.self && !options.force && connected.has(name)) {
    throw new UsageError(`"${name}" is running and connected: a running server rejoins the meta group. Stop it first (on it: systemctl stop unibus), or run \`unibus leave\` on it; --force removes it anyway`);
  }
  return { name, inMeta, ...(record ? { record } : {}), meta };
}

/**
 * removeFromMeta asks the meta leader to drop the server, through this node's
 * system account, by name and by RAFT peer id (the leader resolves a name only
 * if it learned it; the id it always knows), then checks that the group no
 * longer holds it and counts one server less. It throws, naming what to do,
 * when the group still holds it: a remove that changed nothing must not say
 * it removed anything. It returns how long the group took to settle (ms).
 */
export async function removeFromMeta(config: UnibusConfig, name: string, before: MetaGroup, options: { self?: boolean; timeoutMs?: number } = {}): Promise<number> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  await using sys = await SystemClient.connect(config, { name: "unibus-remove" });
  if (before.leader === name) {
    // The leader does not vote itself out: hand the leadership over first.
    await sys.request("$JS.API.META.LEADER.STEPDOWN", {}, { timeoutMs: 10_000 }).catch(() => undefined);
    const until = Date.now() + 20_000;
    for (;;) {
      const leader = (await metaGroup(config)).leader;
      if (leader && leader !== name) break;
      if (Date.now() > until) throw new RuntimeError(`"${name}" leads the JetStream meta group and no other server took over within 20 s; try again`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const peerId = raftPeerId(name);
  const answer = await sys.request<{ success?: boolean; error?: { code?: number; err_code?: number; description?: string } }>("$JS.API.SERVER.REMOVE", { peer: name, peer_id: peerId }, { timeoutMs: 10_000 });
  // "not a member" may be true (another remove won the race): the check below decides.
  const refusal = answer.success ? undefined : (answer.error?.description ?? "no reason given");
  // A node leaving stops counting itself in its own view: the leader's answer is what there is.
  if (options.self) {
    if (refusal) throw new RuntimeError(`the JetStream meta leader refused to remove "${name}": ${refusal}; nothing was changed. Run \`unibus remove ${name}\` on another member after stopping this one`);
    return 0;
  }
  const t0 = Date.now();
  const expected = before.size - 1;
  for (;;) {
    const meta = await metaGroup(config).catch(() => undefined);
    const holds = meta?.servers.some((s) => namesPeer(s, name));
    if (meta && !holds && meta.size <= expected) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs || (refusal && !/not a member/i.test(refusal))) {
      const seen = meta ? `it counts ${meta.size} servers${holds ? ` and still holds "${name}" (peer id ${peerId})` : ""}` : "this node cannot read it";
      throw new RuntimeError(`"${name}" was NOT removed from the JetStream meta group: ${refusal ? `the meta leader answered "${refusal}"; ` : ""}after ${Math.round((Date.now() - t0) / 1000)} s ${seen} (expected ${expected}). ` +
        `The majority still counts it. Check unibus status, then run \`unibus remove ${name}\` again, best from a member that stayed up the whole time`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** recordRemoval tells a CA holder that name is gone; it returns the members list the CA holder now has. */
export async function recordRemoval(config: UnibusConfig, name: string): Promise<MemberRecord[]> {
  const { reply, errors } = await askCaHolder(config, { op: "remove", name });
  if (reply) return Array.isArray(reply.members) ? (reply.members as MemberRecord[]) : [];
  throw new RuntimeError(`"${name}" left the JetStream meta group, but no CA holder recorded it in the members list (${errors.join("; ") || "none known"}); run the command again when one is reachable`);
}

/**
 * askCaHolder sends one request to the first CA holder that accepts it,
 * signing in with this member's certificate (mutual TLS): this node's own
 * join port first, then the members' and the configured peers' join ports.
 * It returns the accepting answer, or every refusal and failure.
 */
export async function askCaHolder(config: UnibusConfig, request: Record<string, unknown>): Promise<{ reply?: Record<string, unknown>; errors: string[] }> {
  const files = presentedCertificate(config);
  if (!files) throw new RuntimeError("this node has no certificate to talk to the CA holders with");
  const material = { ca: readFileSync(trustFile(config)!, "utf8"), cert: readFileSync(files.certFile, "utf8"), key: readFileSync(files.keyFile, "utf8") };
  const registry = new MemberRegistry(config.node.dataDir);
  const targets: HostPort[] = [];
  const add = (text: string | undefined) => {
    const hp = text ? parsePeer(text) : undefined;
    if (hp && typeof hp !== "string" && !targets.some((t) => t.text === hp.text)) targets.push(hp);
  };
  if (config.tls?.caKey) add(`127.0.0.1:${config.cluster!.joinListen.port}`);
  for (const m of registry.active()) add(m.service);
  for (const p of config.cluster!.routes) add(joinHostPort(p.host, p.port + 1));
  const errors: string[] = [];
  for (const t of targets) {
    try {
      const reply = (await wireRequest(t, request, { ...material, timeoutMs: 5_000 })).body;
      if (reply.ok === true) return { reply, errors };
      errors.push(`${t.text}: ${String(reply.error)}`);
    } catch (err) {
      errors.push(`${t.text}: ${(err as Error).message}`);
    }
  }
  return { errors };
}
