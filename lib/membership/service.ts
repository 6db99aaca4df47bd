/**
 * service.ts is the membership service a CA holder runs on its join port. It
 * hands out the CA certificate (a joiner checks it against its token), admits
 * a box that proves a join token and signs its certificate request, renews
 * members' certificates, takes members' check-ins (who they are, what they
 * know) and records removals. The CA key is used here and never sent.
 */
import { createHash } from "node:crypto";
import { isValidNodeName, joinHostPort, parsePeer } from "../config/units.ts";
import { DEFAULTS } from "../config/defaults.ts";
import { assignFallback, assignHome, type HubAddress } from "../fleet/hub-order.ts";
import type { Logger } from "../log.ts";
import { issueFromRequest, parseCertificateRequest, parseSan, type LoadedCa } from "../pki/index.ts";
import { isMemberRecord, type MemberRecord, type MemberRegistry } from "./members.ts";
import type { RotationGate } from "./rotation-gate.ts";
import { readTokens, tokenState } from "./token-store.ts";
import { edgeProofRoute, joinProof, proofMatches } from "./token.ts";
import type { EdgeRecord, EdgeRegistry } from "./edges.ts";
import { serveWire, type PeerIdentity, type TlsMaterial, type WireServer } from "./wire.ts";
import type { HostPort } from "../config/units.ts";
import type { ClientPolicy } from "./client-policy.ts";
import type { AccessEntry } from "../access/ledger.ts";

/** JOIN_CLOCK_SKEW_MS is how far a joiner's clock may be off: a proof older than this is a replay. */
const JOIN_CLOCK_SKEW_MS = 10 * 60 * 1000;
/** MAX_SANS bounds what one request may ask for. */
const MAX_SANS = 32;

/** MembershipServiceOptions connect the service to its node. */
export interface MembershipServiceOptions {
  listen: HostPort;
  cluster: string;
  selfName: string;
  /** The CA as it stands now (a rotation changes it while the node runs). */
  ca: () => Promise<ServiceCa>;
  tokensFile: string;
  routeSecret: () => string;
  registry: MemberRegistry;
  /** Called after the registry changed and was saved. */
  onMembersChanged?: () => void;
  /** The node's own certificate, for the listener. */
  material: () => TlsMaterial;
  /** Names nats-server knows right now (routes and JetStream meta group), and which of them are connected. */
  liveNames: () => Promise<{ known: Set<string>; connected: Set<string> }>;
  /** This node's view of the JetStream meta group (jsz): its leader and its size; undefined fields while unknown, undefined without JetStream. */
  metaGroup?: () => Promise<{ leader?: string; size?: number } | undefined>;
  /** How long a join waits for the member before it (ms; default JOIN_HOLD_MS) and how long that member holds joins up (default JOIN_SETTLE_WINDOW_MS); tests shorten them. */
  joinHoldMs?: number;
  joinSettleMs?: number;
  /** How long a leaderless meta group holds a join up (ms; default JOIN_LEADERLESS_MS). */
  joinLeaderlessMs?: number;
  lifetimeDays: number;
  /** The cluster's client policy a joining box takes over (lib/membership/client-policy.ts). */
  clientPolicy?: () => ClientPolicy;
  /** The cluster's users as this CA holder knows them (lib/access/ledger.ts): a joining box starts with them. */
  accessEntries?: () => readonly AccessEntry[];
  /** Where check-ins report the CAs each member trusts (a CA rotation waits for them). */
  gate?: RotationGate;
  /** The enrolled edges (lib/membership/edges.ts); absent on a cluster that is no hub. */
  edges?: EdgeRegistry;
  /** Every hub node's leaf address ("nats-leaf://host:port"), for an edge's config. */
  leafUrls?: () => string[];
  /** Called after the edges list changed and was saved. */
  onEdgesChanged?: () => void;
  log: Logger;
}

/**
 * ServiceCa is what the service signs with and hands out: the signing CA (the
 * new one during a rotation), every CA members must trust, and the
 * endorsements that let a member accept a new CA.
 */
export interface ServiceCa {
  signing: LoadedCa;
  signingPem: string;
  /** sha256 of the signing CA's DER (join tokens pin it). */
  digest: string;
  trust: string[];
  endorsements: string[];
}

/** Conflict is a second box using a member's name, seen at check-in. */
export interface NameConflict { name: string; address: string; at: string }

/** PEER_REMOVE_TIMEOUT_MS is nats-server's raft peerRemoveTimeout: how long a removed server is kept out of the meta group. */
export const PEER_REMOVE_TIMEOUT_MS = 5 * 60_000;

/**
 * JOIN_SETTLE_WINDOW_MS: a member admitted this long ago that the meta group
 * still does not hold no longer holds up the next join (its box may never
 * have been started).
 */
export const JOIN_SETTLE_WINDOW_MS = 120_000;
/**
 * JOIN_LEADERLESS_MS: a meta group without a leader for this long has lost
 * its majority (an election takes a few seconds), and waiting cannot help:
 * the next box is admitted, which may even restore the majority.
 */
export const JOIN_LEADERLESS_MS = 10_000;
/**
 * JOIN_HOLD_MS is how long a join request waits for the member before it to
 * settle; then it is answered busy and retried. It stays well under the
 * join port's bound on an answer (ANSWER_TIMEOUT_MS, 30 s) and the joining
 * client's wait for one (JOIN_ASK_TIMEOUT_MS).
 */
export const JOIN_HOLD_MS = 8_000;

/** CONFLICT_STALE_MS: a duplicate name not seen again for three check-in rounds is gone. */
export const CONFLICT_STALE_MS = 15_000;

/** hostOf is the host part of "host:port" (brackets of IPv6 dropped). */
function hostOf(address: string): string {
  return address.replace(/:\d+$/, "").replace(/^\[|\]$/g, "").replace(/^::ffff:/i, "").toLowerCase();
}

/** MembershipService is the listening service; start() and stop() bracket it. */
export class MembershipService {
  readonly #o: MembershipServiceOptions;
  #server?: WireServer;
  /** Joins are admitted one at a time: each waits for the one before it (see #join). */
  #joins: Promise<unknown> = Promise.resolve();
  /** The member this service admitted last, while the meta group may not hold it yet. */
  #lastJoin?: { name: string; at: number; readmitAt: number };
  /** Since when this node's meta group view has had no leader, and when that was last seen (ms since the epoch), while joins wait. */
  #leaderless?: { since: number; seen: number };
  readonly #conflicts = new Map<string, NameConflict>();

  constructor(options: MembershipServiceOptions) {
    this.#o = options;
  }

  /**
   * conflicts are the duplicate names seen now, for status: a box that
   * keeps using a member's name checks in every CHECKIN_INTERVAL_MS, so a
   * conflict not seen again for CONFLICT_STALE_MS is gone (the box was
   * stopped), and one whose box has since become that member (unibus join
   * --replace) is no conflict at all.
   */
  get conflicts(): NameConflict[] {
    const cutoff = Date.now() - CONFLICT_STALE_MS;
    for (const [name, c] of this.#conflicts) {
      const member = this.#o.registry.get(name);
      if (Date.parse(c.at) <= cutoff || (member && !member.removed && hostOf(member.route) === hostOf(c.address))) this.#conflicts.delete(name);
    }
    return [...this.#conflicts.values()];
  }

  async start(): Promise<void> {
    this.#server = await serveWire(this.#o.listen, this.#o.material(), (req, peer) => this.#handle(req, peer));
  }

  /** reloadCertificate serves the renewed node certificate. */
  reloadCertificate(): void {
    this.#server?.setCertificate(this.#o.material());
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    await s?.stop();
  }

  async #handle(req: Record<string, unknown>, peer: PeerIdentity): Promise<Record<string, unknown>> {
    switch (req.op) {
      case "hello":
        return { ok: true, v: 1, cluster: this.#o.cluster, ...(await this.#caAnswer()) };
      case "join": {
        // One join at a time, and each once the meta group holds the member admitted before it: boxes
        // joining seconds apart while the meta group grew left two stuck "not current with the meta
        // leader" at the old size in about one run in five (nats-server 2.15.1).
        const received = Date.now();
        const turn = this.#joins.then(() => this.#join(req, peer, received + (this.#o.joinHoldMs ?? JOIN_HOLD_MS)));
        this.#joins = turn.catch(() => undefined);
        return turn;
      }
      case "renew":
        return this.#renew(req, peer);
      case "checkin":
        return this.#checkin(req, peer);
      case "remove":
        return this.#remove(req, peer);
      case "edge-join":
        return this.#edgeJoin(req, peer);
      case "edge-remove":
        return this.#edgeRemove(req, peer);
      case "edge-checkin":
        return this.#edgeCheckin(req, peer);
      case "edge-renew":
        return this.#edgeRenew(req, peer);
      default:
        return { ok: false, error: `unknown request ${JSON.stringify(req.op)}: is this unibus older than the one asking?` };
    }
  }

  /** #caAnswer is the CA part of hello and check-in answers: the signing CA, the trust bundle, the endorsements. */
  async #caAnswer(): Promise<{ ca: string; trust: string[]; endorsements: string[] }> {
    const ca = await this.#o.ca();
    return { ca: ca.signingPem, trust: ca.trust, endorsements: ca.endorsements };
  }

  #refuse(peer: PeerIdentity, what: string, error: string): Record<string, unknown> {
    this.#o.log.warn(`${what} refused`, { from: peer.address, reason: error });
    return { ok: false, error };
  }

  /**
   * #unsettled says why the member admitted last is not in the meta group
   * yet (this node's jsz: a leader, and a group as large as the members
   * list), or undefined when it is, or when there is nothing to wait for.
   */
  async #unsettled(): Promise<string | undefined> {
    const last = this.#lastJoin;
    const o = this.#o;
    if (!last || !o.metaGroup || Date.now() - last.at > (o.joinSettleMs ?? JOIN_SETTLE_WINDOW_MS) || last.readmitAt > Date.now()) return undefined;
    const expected = new Set([o.selfName, ...o.registry.active().map((m) => m.name)]).size;
    const meta = await o.metaGroup().catch(() => ({} as { leader?: string; size?: number }));
    if (!meta) return undefined; // no JetStream: no meta group to wait for
    const now = Date.now();
    if (meta.leader) this.#leaderless = undefined;
    else {
      // Seen without a break (asks come back within seconds while a join waits), or a fresh start.
      const l = this.#leaderless && now - this.#leaderless.seen < 5_000 ? this.#leaderless : { since: now, seen: now };
      this.#leaderless = { since: l.since, seen: now };
      if (now - l.since >= (o.joinLeaderlessMs ?? JOIN_LEADERLESS_MS)) return undefined;
    }
    if (meta.leader && (meta.size ?? 0) >= expected) return undefined;
    const ago = Math.round((Date.now() - last.at) / 1000);
    if (!meta.leader) return `the JetStream meta group has no leader right now (${meta.size ?? "?"} of ${expected} members; "${last.name}" joined ${ago} s ago): waiting up to ${Math.round((o.joinLeaderlessMs ?? JOIN_LEADERLESS_MS) / 1000)} s for an election`;
    return `"${last.name}" joined ${ago} s ago and the JetStream meta group does not hold it yet (${meta.size ?? "?"} of ${expected} members, leader ${meta.leader}): boxes join one at a time, each once the one before it has started`;
  }

  async #join(req: Record<string, unknown>, peer: PeerIdentity, holdUntil: number): Promise<Record<string, unknown>> {
    const o = this.#o;
    const { tokenId, name, route, at, csr, proof, id } = req as Record<string, string & number>;
    const replace = req.replace === true;
    if (typeof tokenId !== "string" || typeof name !== "string" || typeof route !== "string" || typeof at !== "number" || typeof csr !== "string" || typeof proof !== "string" || typeof id !== "string") {
      return this.#refuse(peer, "join", "malformed join request");
    }
    const token = readTokens(o.tokensFile).find((t) => t.id === tokenId);
    if (!token) return this.#refuse(peer, "join", `join token ${tokenId} is not known to ${o.selfName}: create one there with \`unibus token create\``);
    const state = tokenState(token);
    if (state === "revoked") return this.#refuse(peer, "join", `join token ${tokenId} was revoked on ${token.revokedAt}; ask for a new one (unibus token create on a CA holder)`);
    if (state === "expired") return this.#refuse(peer, "join", `join token ${tokenId} expired on ${token.expiresAt}; ask for a new one (unibus token create on a CA holder)`);
    const parsedCsr = await parseCertificateRequest(csr).catch((err: Error) => err);
    if (parsedCsr instanceof Error) return this.#refuse(peer, "join", parsedCsr.message);
    const ca = await o.ca();
    const expected = joinProof(token.secret, { caDigest: ca.digest, tokenId, name, route, at, csrDigest: createHash("sha256").update(parsedCsr.der).digest("hex"), replace });
    if (!proofMatches(expected, proof)) return this.#refuse(peer, "join", `the proof for join token ${tokenId} is wrong: the token's secret part does not match (mistyped or tampered token)`);
    if (Math.abs(Date.now() - at) > JOIN_CLOCK_SKEW_MS) return this.#refuse(peer, "join", `the join request is dated ${new Date(at).toISOString()}, more than 10 minutes from ${o.selfName}'s clock; set both clocks (NTP) and try again`);
    if (!isValidNodeName(name)) return this.#refuse(peer, "join", `node name ${JSON.stringify(name)} is invalid: use letters, digits, '-' or '_'`);
    const routeHp = parsePeer(route);
    if (typeof routeHp === "string") return this.#refuse(peer, "join", `route address ${JSON.stringify(route)} is invalid: expected ${routeHp}`);
    const sans = Array.isArray(req.sans) ? (req.sans as unknown[]).filter((s): s is string => typeof s === "string").slice(0, MAX_SANS) : [];
    try {
      sans.forEach(parseSan);
    } catch (err) {
      return this.#refuse(peer, "join", (err as Error).message);
    }
    const live = await o.liveNames();
    const record = o.registry.get(name);
    const taken = name === o.selfName || (record && !record.removed) || live.known.has(name);
    if (taken && !replace) {
      const where = record && !record.removed ? ` (route ${record.route}, joined ${record.joinedAt})` : "";
      return this.#refuse(peer, "join", `node name "${name}" is already a member of cluster "${o.cluster}"${where}. Give this box another name with --name NAME; or, if ${name} is dead and this box replaces it (same name, empty disk), add --replace`);
    }
    if (replace) {
      if (name === o.selfName || live.connected.has(name)) {
        return this.#refuse(peer, "join", `"${name}" is running and connected to the cluster right now; --replace is for a member that is dead. Stop it first, or pick another --name`);
      }
      // A removed name may come back with --replace too: remove and leave print that very command.
      if (!taken && !record?.removed) return this.#refuse(peer, "join", `there is no member "${name}" to replace in cluster "${o.cluster}"; join without --replace`);
    }
    const waitFrom = Date.now();
    let waitedFor: string | undefined;
    for (let why = await this.#unsettled(); why; why = await this.#unsettled()) {
      waitedFor = this.#lastJoin?.name;
      if (Date.now() >= holdUntil) {
        o.log.info("join waits for the member before it", { name, from: peer.address, reason: why });
        return { ok: false, busy: true, error: why };
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    if (waitedFor) o.log.info("join waited for the member before it", { name, after: waitedFor, ms: Date.now() - waitFrom });
    const issued = await issueFromRequest(ca.signing, csr, { name, sans: [...new Set([name, ...sans])], days: o.lifetimeDays });
    const now = new Date();
    const member: MemberRecord = { name, id, route: routeHp.text, joinedAt: now.toISOString(), updatedAt: now.getTime(), certNotAfter: issued.notAfter.toISOString(), caFingerprint: ca.digest };
    o.registry.put(member);
    o.registry.save();
    o.onMembersChanged?.();
    o.log.info(replace ? "member replaced" : "member joined", { name, route: member.route, from: peer.address, token: tokenId });
    // nats-server keeps a peer-removed server out of the meta group for 5 minutes (raft peerRemoveTimeout)
    // on every server, so a step-down does not help: say when JetStream takes the name back.
    const readmit = record?.removed ? record.updatedAt + PEER_REMOVE_TIMEOUT_MS : 0;
    this.#lastJoin = { name, at: now.getTime(), readmitAt: readmit };
    return { ok: true, cluster: o.cluster, cert: issued.certPem, ca: ca.signingPem, trust: ca.trust, secret: o.routeSecret(), members: o.registry.all(), ...(o.clientPolicy ? { client: o.clientPolicy() } : {}), ...(o.accessEntries ? { access: o.accessEntries() } : {}), ...(readmit > Date.now() ? { jetstreamAt: new Date(readmit).toISOString() } : {}) };
  }

  async #renew(req: Record<string, unknown>, peer: PeerIdentity): Promise<Record<string, unknown>> {
    const o = this.#o;
    if (!peer.verified || !peer.name) return this.#refuse(peer, "renewal", "renewal needs the member's current certificate (mutual TLS); a box without one must join");
    const record = o.registry.get(peer.name);
    if (record?.removed) return this.#refuse(peer, "renewal", `"${peer.name}" was removed from cluster "${o.cluster}"; it must join again`);
    // An edge's certificate renews through edge-renew (sans fixed to its name), never as a member's.
    if (!record && peer.name !== o.selfName && o.edges?.get(peer.name)) return this.#refuse(peer, "renewal", `"${peer.name}" is an enrolled edge, not a member: its certificate renews through its check-ins`);
    if (typeof req.csr !== "string") return this.#refuse(peer, "renewal", "malformed renewal request");
    const sans = Array.isArray(req.sans) ? (req.sans as unknown[]).filter((s): s is string => typeof s === "string").slice(0, MAX_SANS) : [];
    try {
      sans.forEach(parseSan);
      const issued = await issueFromRequest((await o.ca()).signing, req.csr, { name: peer.name, sans: [...new Set([peer.name, ...sans])], days: o.lifetimeDays });
      o.log.info("renewed a member's certificate", { name: peer.name, not_after: issued.notAfter.toISOString() });
      return { ok: true, cert: issued.certPem };
    } catch (err) {
      return this.#refuse(peer, "renewal", (err as Error).message);
    }
  }

  async #checkin(req: Record<string, unknown>, peer: PeerIdentity): Promise<Record<string, unknown>> {
    const o = this.#o;
    if (!peer.verified || !peer.name) return { ok: false, error: "check-in needs a member certificate (mutual TLS)" };
    const self = req.self;
    if (!isMemberRecord(self)) return { ok: false, error: "malformed check-in" };
    if (self.name !== peer.name) {
      return this.#conflict(peer, self.name, `this box calls itself "${self.name}" but its certificate is for "${peer.name}": a node's name is bound to its certificate; set [node] name = "${peer.name}" or join again under the new name`);
    }
    o.gate?.report(peer.name, req.trusts);
    let changed = false;
    const have = o.registry.get(self.name);
    if (self.name === o.selfName && have && have.id !== self.id) {
      return this.#conflict(peer, self.name, `"${self.name}" is the name of the CA holder answering at ${o.listen.text}; two boxes use one name`);
    }
    // The same name, certificate (verified above) and address with a new id: the member itself, back
    // with an empty data dir (a reflashed card with its config restored). It is that member, catching up.
    const reflashed = Boolean(have && !have.removed && have.id !== self.id && hostOf(have.route) === hostOf(self.route) && hostOf(self.route) === hostOf(peer.address));
    if (reflashed) {
      o.log.info("a member came back with a new data dir; it is the same member (same name, certificate and address)", { name: self.name, route: self.route });
      o.registry.put({ ...have!, ...self, joinedAt: have!.joinedAt, updatedAt: Math.max(self.updatedAt, have!.updatedAt + 1) });
      o.registry.save();
      o.onMembersChanged?.();
      this.#conflicts.delete(self.name);
      return { ok: true, members: o.registry.all(), ...(o.edges ? { edges: o.edges.all() } : {}), ...(await this.#caAnswer()) };
    }
    if (have && !have.removed && have.id !== self.id) {
      return this.#conflict(peer, self.name, `another box already is member "${self.name}" of cluster "${o.cluster}" (route ${have.route}); names must be unique. If this box replaces a dead ${self.name}, run on it: unibus join ADDR --token TOKEN --name ${self.name} --replace; otherwise give it its own name and join it`);
    }
    // A removed member comes back only through a join (which writes a fresh record): its own
    // check-in, however new its record, must not undo the remove.
    if (have?.removed) {
      return { ok: true, removed: true, members: o.registry.all() };
    }
    if (Array.isArray(req.members)) changed = o.registry.merge((req.members as unknown[]).filter((r) => (r as MemberRecord)?.name !== self.name));
    // Which CA issued the member's certificate is read from the verified connection, not taken from its word.
    const caFingerprint = peer.issuerFingerprint ?? self.caFingerprint;
    if (!have || have.updatedAt < self.updatedAt || have.removed || have.caFingerprint !== caFingerprint) {
      o.registry.put({ ...self, ...(caFingerprint ? { caFingerprint } : {}), joinedAt: have?.joinedAt ?? self.joinedAt, updatedAt: Math.max(self.updatedAt, (have?.updatedAt ?? 0) + (have && have.caFingerprint !== caFingerprint ? 1 : 0)) });
      changed = true;
    }
    if (changed) {
      o.registry.save();
      o.onMembersChanged?.();
    }
    return { ok: true, members: o.registry.all(), ...(o.edges ? { edges: o.edges.all() } : {}), ...(await this.#caAnswer()) };
  }

  /**
   * #edgeJoin enrolls an edge: the same token proof as a member's join (the
   * edge's public nkey bound into it in place of a route), a certificate for
   * the edge's own key, and the edge's nkey added to the edges every hub node
   * lets sign in. The answer carries every hub node's leaf address.
   */
  async #edgeJoin(req: Record<string, unknown>, peer: PeerIdentity): Promise<Record<string, unknown>> {
    const o = this.#o;
    if (!o.edges || !o.leafUrls) return this.#refuse(peer, "edge enrollment", `${o.selfName} is no hub: set [leafnodes] listen and enroll = true in its config, then reload it`);
    const { tokenId, name, nkey, at, csr, proof } = req as Record<string, string & number>;
    const replace = req.replace === true;
    if (typeof tokenId !== "string" || typeof name !== "string" || typeof nkey !== "string" || typeof at !== "number" || typeof csr !== "string" || typeof proof !== "string") {
      return this.#refuse(peer, "edge enrollment", "malformed edge enrollment request");
    }
    if (!/^U[A-Z2-7]{55}$/.test(nkey)) return this.#refuse(peer, "edge enrollment", "the edge's nkey is not a user public key");
    const token = readTokens(o.tokensFile).find((t) => t.id === tokenId);
    if (!token) return this.#refuse(peer, "edge enrollment", `join token ${tokenId} is not known to ${o.selfName}: create one there with \`unibus token create\``);
    const state = tokenState(token);
    if (state !== "valid") return this.#refuse(peer, "edge enrollment", `join token ${tokenId} is ${state}; ask for a new one (unibus token create on a CA holder)`);
    const parsedCsr = await parseCertificateRequest(csr).catch((err: Error) => err);
    if (parsedCsr instanceof Error) return this.#refuse(peer, "edge enrollment", parsedCsr.message);
    const ca = await o.ca();
    const expected = joinProof(token.secret, { caDigest: ca.digest, tokenId, name, route: edgeProofRoute(nkey), at, csrDigest: createHash("sha256").update(parsedCsr.der).digest("hex"), replace });
    if (!proofMatches(expected, proof)) return this.#refuse(peer, "edge enrollment", `the proof for join token ${tokenId} is wrong: the token's secret part does not match (mistyped or tampered token)`);
    if (Math.abs(Date.now() - at) > JOIN_CLOCK_SKEW_MS) return this.#refuse(peer, "edge enrollment", `the request is dated ${new Date(at).toISOString()}, more than 10 minutes from ${o.selfName}'s clock; set both clocks (NTP) and try again`);
    if (!isValidNodeName(name)) return this.#refuse(peer, "edge enrollment", `edge name ${JSON.stringify(name)} is invalid: use letters, digits, '-' or '_'`);
    const member = o.registry.get(name);
    if (name === o.selfName || (member && !member.removed)) return this.#refuse(peer, "edge enrollment", `"${name}" is a member of hub cluster "${o.cluster}"; give the edge its own name with --name NAME`);
    const have = o.edges.get(name);
    if (have && !have.removed && !replace) return this.#refuse(peer, "edge enrollment", `edge "${name}" is already enrolled (since ${have.enrolledAt}). Give this box another name with --name NAME; or, if it replaces that edge, add --replace (the old edge's key stops working)`);
    const issued = await issueFromRequest(ca.signing, csr, { name, sans: [name], days: o.lifetimeDays });
    const now = Date.now();
    // Its home hub node, balanced against the edges enrolled so far (computed and recorded with no await between).
    const leafUrls = o.leafUrls();
    const hubs = leafUrls.map(hubAddressOf).filter((h): h is HubAddress & { url: string } => h !== undefined);
    const hubAt = (key: "home" | "fallback", text: string | undefined) => { const a = text ? parsePeer(text) : undefined; return typeof a === "object" ? { [key]: a } : {}; };
    const others = o.edges.all().filter((e) => !e.removed && e.name !== name).map((e) => ({ name: e.name, ...hubAt("home", e.home), ...hubAt("fallback", e.fallback) }));
    const home = hubs.length ? assignHome(name, hubs, others) : undefined;
    const fallback = home ? assignFallback(name, hubs, home, others) : undefined;
    o.edges.put({
      name, nkey, enrolledAt: new Date(now).toISOString(), updatedAt: Math.max(now, (have?.updatedAt ?? 0) + 1), certNotAfter: issued.notAfter.toISOString(), caFingerprint: ca.digest,
      ...(home ? { home: joinHostPort(home.host, home.port) } : {}), ...(fallback ? { fallback: joinHostPort(fallback.host, fallback.port) } : {}),
    });
    o.edges.save();
    o.onEdgesChanged?.();
    o.log.info(have && !have.removed ? "edge replaced" : "edge enrolled", { name, from: peer.address, token: tokenId });
    return { ok: true, cluster: o.cluster, cert: issued.certPem, ca: ca.signingPem, trust: ca.trust, leafUrls, ...(home ? { home: home.url } : {}), ...(fallback ? { fallback: fallback.url } : {}), services: this.#services() };
  }

  /** #edgeRemove takes an edge's key out of the hub's sign-ins (asked by a member, over mutual TLS). */
  async #edgeRemove(req: Record<string, unknown>, peer: PeerIdentity): Promise<Record<string, unknown>> {
    const o = this.#o;
    if (!peer.verified || !peer.name) return this.#refuse(peer, "edge remove", "edge remove needs a member certificate (mutual TLS): run it on a hub node");
    if (!o.registry.get(peer.name) && peer.name !== o.selfName) return this.#refuse(peer, "edge remove", `"${peer.name}" is not a member of hub cluster "${o.cluster}"`);
    if (!o.edges) return this.#refuse(peer, "edge remove", `${o.selfName} is no hub`);
    const name = req.name;
    if (typeof name !== "string") return this.#refuse(peer, "edge remove", "malformed edge remove request");
    const have = o.edges.get(name);
    if (!have || have.removed) return this.#refuse(peer, "edge remove", `no enrolled edge "${name}" (unibus edge list shows them)`);
    o.edges.put({ ...have, removed: true, updatedAt: Math.max(Date.now(), have.updatedAt + 1) });
    o.edges.save();
    o.onEdgesChanged?.();
    o.log.info("edge removed", { name, by: peer.name });
    return { ok: true, edges: o.edges.all() };
  }

  /** #services are the CA holders' join addresses as the members list has them (this node's own record included): where an edge checks in. */
  #services(): string[] {
    return [...new Set(this.#o.registry.active().flatMap((m) => (m.service ? [m.service] : [])))];
  }

  /**
   * #enrolledPeer is the enrolled edge behind a mutual-TLS connection, or the
   * refusal to send: a certificate from the hub's CA naming an edge that is
   * enrolled, with the nkey the edge says it signs in with.
   */
  #enrolledPeer(req: Record<string, unknown>, peer: PeerIdentity, what: string): { record: EdgeRecord } | { refusal: Record<string, unknown> } {
    const o = this.#o;
    if (!o.edges) return { refusal: this.#refuse(peer, what, `${o.selfName} is no hub: its config has no [leafnodes] enroll = true`) };
    if (!peer.verified || !peer.name) return { refusal: this.#refuse(peer, what, `${what} needs the edge's certificate from the hub's CA (mutual TLS); an edge whose certificate the hub no longer trusts must enroll again: unibus join ADDR --token TOKEN --edge --name NAME --replace --force`) };
    const record = o.edges.get(peer.name);
    if (!record) return { refusal: this.#refuse(peer, what, `"${peer.name}" is not an enrolled edge of hub cluster "${o.cluster}"`) };
    if (record.removed) return { refusal: { ok: false, removed: true, error: `edge "${peer.name}" was removed from hub cluster "${o.cluster}" (unibus edge remove); to enroll it again: unibus join ADDR --token TOKEN --edge --name ${peer.name} --replace --force` } };
    if (typeof req.nkey === "string" && req.nkey !== record.nkey) return { refusal: this.#refuse(peer, what, `edge "${peer.name}" signs in with another key than the one enrolled (replaced by another box with --replace?)`) };
    return { record };
  }

  /**
   * #edgeCheckin is an enrolled edge's periodic visit: it says which CAs it
   * trusts (the rotation gate waits for edges that are up) and gets the hub
   * cluster's CAs with their endorsements, and the CA holders to visit. Its
   * record changes only when the CA behind its certificate did, so a fleet's
   * check-ins do not make every hub node reload nats-server.
   */
  async #edgeCheckin(req: Record<string, unknown>, peer: PeerIdentity): Promise<Record<string, unknown>> {
    const o = this.#o;
    const got = this.#enrolledPeer(req, peer, "edge check-in");
    if ("refusal" in got) return got.refusal;
    o.gate?.reportEdge(peer.name!, req.trusts);
    const { record } = got;
    if (peer.issuerFingerprint && record.caFingerprint !== peer.issuerFingerprint) {
      o.edges!.put({ ...record, caFingerprint: peer.issuerFingerprint, updatedAt: Math.max(Date.now(), record.updatedAt + 1) });
      o.edges!.save();
      o.onEdgesChanged?.();
    }
    return { ok: true, cluster: o.cluster, services: this.#services(), ...(await this.#caAnswer()) };
  }

  /** #edgeRenew issues an enrolled edge a new certificate for its own new key (before expiry, or from a rotation's new CA). */
  async #edgeRenew(req: Record<string, unknown>, peer: PeerIdentity): Promise<Record<string, unknown>> {
    const o = this.#o;
    const got = this.#enrolledPeer(req, peer, "edge renewal");
    if ("refusal" in got) return got.refusal;
    if (typeof req.csr !== "string") return this.#refuse(peer, "edge renewal", "malformed edge renewal request");
    try {
      const ca = await o.ca();
      const issued = await issueFromRequest(ca.signing, req.csr, { name: peer.name!, sans: [peer.name!], days: o.lifetimeDays });
      const { record } = got;
      o.edges!.put({ ...record, certNotAfter: issued.notAfter.toISOString(), caFingerprint: ca.digest, updatedAt: Math.max(Date.now(), record.updatedAt + 1) });
      o.edges!.save();
      o.onEdgesChanged?.();
      o.log.info("renewed an edge's certificate", { name: peer.name, not_after: issued.notAfter.toISOString() });
      return { ok: true, cert: issued.certPem };
    } catch (err) {
      return this.#refuse(peer, "edge renewal", (err as Error).message);
    }
  }

  #conflict(peer: PeerIdentity, name: string, error: string): Record<string, unknown> {
    this.#conflicts.set(name, { name, address: peer.address, at: new Date().toISOString() });
    return { ...this.#refuse(peer, "check-in", error), duplicate: true };
  }

  async #remove(req: Record<string, unknown>, peer: PeerIdentity): Promise<Record<string, unknown>> {
    const o = this.#o;
    if (!peer.verified || !peer.name) return this.#refuse(peer, "remove", "remove needs a member certificate (mutual TLS): run it on a member");
    const name = req.name;
    if (typeof name !== "string") return this.#refuse(peer, "remove", "malformed remove request");
    const have = o.registry.get(name);
    const now = Date.now();
    o.registry.put({ ...(have ?? { name, id: "", route: typeof req.route === "string" ? req.route : "", joinedAt: new Date(now).toISOString() }), removed: true, updatedAt: Math.max(now, (have?.updatedAt ?? 0) + 1) });
    o.registry.save();
    o.onMembersChanged?.();
    o.log.info("member removed", { name, by: peer.name });
    return { ok: true, members: o.registry.all() };
  }
}

/** hubAddressOf reads a hub leaf URL ("nats-leaf://host:port") into its address; undefined when it is no URL. */
function hubAddressOf(url: string): (HubAddress & { url: string }) | undefined {
  try {
    const u = new URL(url);
    return { host: u.hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(u.port || DEFAULTS.leafPort), url };
  } catch {
    return undefined;
  }
}
