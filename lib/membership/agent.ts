/**
 * agent.ts is what every member runs beside nats-server: it checks in with
 * the CA holders (saying who it is, merging what they know about the
 * members into members.json) and, on a node without the CA key, renews the
 * node certificate through a CA holder over mutual TLS before it expires.
 * Its findings (last check-in, renewal failing, duplicate name, removed)
 * go to `<data_dir>/membership-state.json` for `unibus status`.
 */
import { readFileSync } from "node:fs";
import { joinHostPort, parsePeer, type HostPort } from "../config/units.ts";
import { writeFileAtomic } from "../fsutil.ts";
import type { Logger } from "../log.ts";
import { createCertificateRequest, expectedSans, NODE_CERT_FILE, NODE_KEY_FILE } from "../pki/index.ts";
import { bundlePem, certFingerprint, colonFingerprint, parseCertificates } from "../pki/index.ts";
import type { MemberRecord, MemberRegistry } from "./members.ts";
import type { EdgeRegistry } from "./edges.ts";
import { judgeTrust, trustOfferOf, type TrustOffer } from "./trust-offer.ts";
import { wireRequest } from "./wire.ts";
import { writeLeftMarker } from "./left-marker.ts";
import { dataDirLayout } from "../data-dir.ts";
import { PeriodicTask } from "../periodic-task.ts";

/** CHECKIN_INTERVAL_MS is how often a member checks in with the CA holders. */
export const CHECKIN_INTERVAL_MS = 5_000;
/** RENEWAL_LOG_EVERY_MS spaces the error lines of a renewal that keeps failing. */
const RENEWAL_LOG_EVERY_MS = 10 * 60 * 1000;

/** MembershipState is what `unibus status` reads. */
export interface MembershipState {
  updatedAt: string;
  lastCheckin?: { at: string; with: string };
  checkinError?: string;
  /** When check-ins began to fail without one getting through (ISO time); cleared by a success. */
  checkinFailingSince?: string;
  /** Set while renewal through a CA holder fails: since when and why. */
  renewalFailing?: { since: string; error: string };
  lastRenewal?: string;
  /** Set when a CA holder refused this node because another box has its name. */
  duplicate?: string;
  /** Set when the cluster removed this member. */
  removed?: boolean;
  /** Duplicate names a CA holder saw at check-in. */
  conflicts?: { name: string; address: string; at: string }[];
  /** Set when the cluster no longer trusts the CA that issued this node's certificate (a CA rotation finished while it was away). */
  caRetired?: { since: string; cluster: string[] };
}

/** readMembershipState reads the agent's findings; undefined when there are none. */
export function readMembershipState(dataDir: string): MembershipState | undefined {
  try {
    return JSON.parse(readFileSync(dataDirLayout(dataDir).membershipState, "utf8")) as MembershipState;
  } catch {
    return undefined;
  }
}

/** MembershipAgentOptions connect the agent to its node. */
export interface MembershipAgentOptions {
  dataDir: string;
  registry: MemberRegistry;
  /** This node's own record as it stands now. */
  self: () => MemberRecord;
  /** Addresses of CA holders from the config (peer host, route port + 1), tried besides the members list. */
  fallbackServices: () => HostPort[];
  /** The node's current certificate files and the CA file. */
  tls: () => { certFile: string; keyFile: string; caFile: string } | undefined;
  /** When the node's certificate should be renewed; undefined on a CA holder (it renews itself). */
  renewAt: () => Date | undefined;
  /** When the current certificate expires (for the log line of a failing renewal). */
  notAfter?: () => Date | undefined;
  /** Extra SANs to keep in a renewed certificate. */
  sans: () => string[];
  nodeName: () => string;
  /** The cluster's name, for the left marker a removed node writes. */
  clusterName?: () => string;
  /** Called after a renewed certificate was written to <data_dir>/tls. */
  onRenewed: () => Promise<void>;
  /**
   * Where a member keeps the CAs it learned from the CA holders (a CA
   * rotation); undefined on a CA holder, whose CA files say what it trusts.
   */
  trustFile?: () => string | undefined;
  /** sha256 (hex) of the CA that issued this node's certificate. */
  ownIssuer?: () => string | undefined;
  /** Called after the trust bundle changed (the node re-reads it and reloads nats-server). */
  onTrustChanged?: () => Promise<void>;
  /** Called when the members list changed. */
  onMembersChanged?: () => void;
  /** The enrolled edges this hub node lets sign in; merged from the CA holders' answers. */
  edges?: EdgeRegistry;
  /** Called when the edges list changed (the node re-renders its sign-ins and reloads nats-server). */
  onEdgesChanged?: () => void;
  /** Conflicts the local membership service saw (CA holders only). */
  conflicts?: () => { name: string; address: string; at: string }[];
  log: Logger;
  intervalMs?: number;
}

/** MembershipAgent runs the check-in loop; start() and stop() bracket it. */
export class MembershipAgent {
  readonly #o: MembershipAgentOptions;
  readonly #task: PeriodicTask;
  #state: MembershipState = { updatedAt: new Date().toISOString() };
  #running?: Promise<void>;
  #lastRenewalLog = 0;

  constructor(options: MembershipAgentOptions) {
    this.#o = options;
    this.#task = new PeriodicTask({
      run: () => this.checkInNow(),
      intervalMs: options.intervalMs ?? CHECKIN_INTERVAL_MS,
      onError: (err) => this.#o.log.error("membership check-in failed", { error: err.message }),
    });
  }

  get state(): MembershipState { return this.#state; }

  /** start checks in at once, then every interval. */
  start(): void {
    this.#task.start();
  }

  async stop(): Promise<void> {
    await this.#task.stop();
    await this.#running?.catch(() => {}); // a round started by checkInNow
  }

  /** checkInNow runs one round (tests and `unibus status` freshness). */
  checkInNow(): Promise<void> {
    this.#running = this.#round();
    return this.#running;
  }

  /**
   * removedBeforeStart asks the CA holders, all at once and for at most
   * timeoutMs, whether this node was removed, before its nats-server starts.
   * A box that was powered off while the others removed it (unibus remove, or
   * unibus recover on the last survivor) learns it only from a CA holder:
   * learned at the first check-in after its nats-server started, it had
   * already routed to the cluster and nats had put the removed server back
   * into the JetStream meta group (on the bed: a recovered cluster of one was
   * a meta group of 3 again, 2 of them removed). True, with the left marker
   * written (the start then refuses), when a CA holder says so; false when
   * none says so or none answers in time (the start goes on, as before).
   */
  async removedBeforeStart(timeoutMs: number): Promise<boolean> {
    const tls = this.#o.tls();
    if (!tls) return false;
    const material = tlsMaterial(tls);
    const self = this.#o.self();
    const trusts = parseCertificates(material.ca).map(certFingerprint);
    const answers = await Promise.all(this.#services().map((service) =>
      wireRequest(service, { op: "checkin", self, members: this.#o.registry.all(), trusts }, { ...material, timeoutMs }).then((r) => r.body, () => undefined)));
    if (!answers.some((reply) => reply?.ok === true && reply.removed)) return false;
    writeLeftMarker(this.#o.dataDir, { cluster: this.#o.clusterName?.() ?? "", name: self.name, at: removedAt(answers, self.name) ?? new Date().toISOString(), how: "removed" });
    return true;
  }

  /** services lists the CA holders to talk to: members with a join port, then the config's peers not known to be anything else. */
  #services(): HostPort[] {
    const self = this.#o.self();
    const seen = new Set<string>();
    const out: HostPort[] = [];
    const add = (text: string | undefined) => {
      if (!text) return;
      const hp = parsePeer(text);
      if (typeof hp === "string" || seen.has(hp.text) || hp.text === self.service) return;
      seen.add(hp.text);
      out.push(hp);
    };
    const active = this.#o.registry.active();
    for (const m of active) if (m.name !== self.name) add(m.service);
    // A guess (a peer's route port + 1) is no CA holder when the members list knows that peer as a
    // member without a join port, or as this node: check in only with CA holders.
    const notHolders = new Set(active.filter((m) => !m.service || m.name === self.name).flatMap((m) => {
      const hp = parsePeer(m.route);
      return typeof hp === "string" ? [] : [parsePeer(joinHostPort(hp.host, hp.port + 1))].flatMap((g) => (typeof g === "string" ? [] : [g.text]));
    }));
    for (const hp of this.#o.fallbackServices()) if (!notHolders.has(hp.text)) add(hp.text);
    return out;
  }

  async #round(): Promise<void> {
    const tls = this.#o.tls();
    if (!tls) return;
    const material = tlsMaterial(tls);
    const self = this.#o.self();
    const own = this.#o.registry.get(self.name);
    const removedHere = Boolean(self.removed);
    let changed = false;
    let edgesChanged = false;
    if (!removedHere && (!own || own.updatedAt < self.updatedAt)) {
      this.#o.registry.put(self);
      changed = true;
    }
    const errors: string[] = [];
    let reached: string | undefined;
    let duplicate: string | undefined;
    let removed = removedHere;
    let offer: TrustOffer | undefined;
    // What this node trusts: a CA holder starts a rotation's reissuing once every member trusts the new CA.
    const trusts = parseCertificates(material.ca).map(certFingerprint);
    for (const service of this.#services()) {
      try {
        const reply = (await wireRequest(service, { op: "checkin", self, members: this.#o.registry.all(), trusts }, { ...material, timeoutMs: 5_000 })).body;
        if (reply.ok !== true) {
          if (reply.duplicate) duplicate = String(reply.error);
          errors.push(`${service.text}: ${String(reply.error)}`);
          continue;
        }
        reached ??= service.text;
        offer ??= trustOfferOf(reply);
        if (Array.isArray(reply.members) && this.#o.registry.merge(reply.members)) changed = true;
        if (Array.isArray(reply.edges) && this.#o.edges?.merge(reply.edges)) edgesChanged = true;
        if (reply.removed) removed = true;
      } catch (err) {
        errors.push(`${service.text}: ${(err as Error).message}`);
      }
    }
    if (changed) {
      this.#o.registry.save();
      this.#o.onMembersChanged?.();
    }
    if (edgesChanged) {
      this.#o.edges!.save();
      this.#o.onEdgesChanged?.();
    }
    const now = new Date().toISOString();
    if (duplicate && duplicate !== this.#state.duplicate) this.#o.log.error("a CA holder refused this node: its name is taken", { reason: duplicate });
    if (removed && !this.#state.removed) {
      this.#o.log.warn(`this node was removed from the cluster (unibus remove or recover on another member); it keeps running until stopped and will refuse to start as a member again. To make it a member again: unibus join ADDR --token TOKEN --name ${self.name} --replace --force`);
      // members.json can be stale or replaced: the marker makes the next start refuse, whatever it says.
      try {
        writeLeftMarker(this.#o.dataDir, { cluster: this.#o.clusterName?.() ?? "", name: self.name, at: removedAt([{ members: this.#o.registry.all() }], self.name) ?? now, how: "removed" });
      } catch (err) {
        this.#o.log.error("could not record the removal in the data dir", { error: (err as Error).message });
      }
    }
    this.#state = {
      ...this.#state,
      updatedAt: now,
      ...(reached ? { lastCheckin: { at: now, with: reached } } : {}),
      checkinError: reached || errors.length === 0 ? undefined : errors.join("; "),
      checkinFailingSince: reached || errors.length === 0 ? undefined : (this.#state.checkinFailingSince ?? now),
      duplicate,
      removed,
      conflicts: this.#o.conflicts?.() ?? [],
    };
    // A member that cannot verify any CA holder may have missed the start of a CA rotation: ask unverified; only endorsed CAs are taken.
    const verified = Boolean(offer);
    if (!reached && !offer && this.#o.trustFile?.()) offer = await this.#helloOffer();
    const rotate = await this.#judgeTrust(offer, material.ca, verified);
    await this.#renewIfDue(rotate);
    this.#saveState();
  }

  /** #helloOffer asks the CA holders' hello (no certificates involved) what the cluster trusts. */
  async #helloOffer(): Promise<TrustOffer | undefined> {
    for (const service of this.#services()) {
      try {
        const offer = trustOfferOf((await wireRequest(service, { op: "hello" }, { timeoutMs: 5_000 })).body);
        if (offer) return offer;
      } catch {
        // the next one
      }
    }
    return undefined;
  }

  /** #judgeTrust takes a CA holder's word on the cluster's CAs and says whether a CA rotation wants a new certificate now. */
  async #judgeTrust(offer: TrustOffer | undefined, caText: string, verified: boolean): Promise<boolean> {
    const file = this.#o.trustFile?.();
    if (!offer || !file) return false;
    const verdict = await judgeTrust(parseCertificates(caText), this.#o.ownIssuer?.(), offer, { verified });
    if (verdict.kind === "retired") {
      if (!this.#state.caRetired) this.#o.log.error("the cluster no longer trusts the CA that issued this node's certificate (its CA rotation finished while this node was away); join again: unibus join ADDR --token TOKEN --name NAME --replace --force", { cluster_ca: verdict.cluster.map(colonFingerprint).join(",") });
      this.#state = { ...this.#state, caRetired: { since: this.#state.caRetired?.since ?? new Date().toISOString(), cluster: verdict.cluster } };
      return false;
    }
    this.#state = { ...this.#state, caRetired: undefined };
    if (verdict.kind === "update") {
      writeFileAtomic(file, bundlePem(verdict.trust), 0o644);
      this.#o.log.info("the cluster's CAs changed (CA rotation); trusting them now", { ca: verdict.trust.map((c) => colonFingerprint(certFingerprint(c)).slice(0, 23)).join(",") });
      await this.#o.onTrustChanged?.();
    }
    return verdict.renew;
  }

  async #renewIfDue(rotate = false): Promise<void> {
    const due = this.#o.renewAt();
    if (this.#state.removed || !due || (!rotate && Date.now() < due.getTime())) return;
    // Read again: a trust change this round reloaded them.
    const tls = this.#o.tls();
    if (!tls) return;
    const material = tlsMaterial(tls);
    const name = this.#o.nodeName();
    const errors: string[] = [];
    for (const service of this.#services()) {
      try {
        const request = await createCertificateRequest(name);
        const sans = expectedSans(name, this.#o.sans());
        const reply = (await wireRequest(service, { op: "renew", csr: request.csrPem, sans }, { ...material, timeoutMs: 10_000 })).body;
        if (reply.ok !== true || typeof reply.cert !== "string") {
          errors.push(`${service.text}: ${String(reply.error ?? "no certificate in the answer")}`);
          continue;
        }
        const paths = dataDirLayout(this.#o.dataDir);
        writeFileAtomic(paths.nodeKey, request.keyPem, 0o600);
        writeFileAtomic(paths.nodeCert, reply.cert, 0o644);
        this.#o.log.info(rotate ? "the cluster rotated its CA: renewed the node certificate from the new CA through a CA holder" : "renewed the node certificate through a CA holder", { ca_holder: service.text });
        this.#state = { ...this.#state, renewalFailing: undefined, lastRenewal: new Date().toISOString() };
        await this.#o.onRenewed();
        return;
      } catch (err) {
        errors.push(`${service.text}: ${(err as Error).message}`);
      }
    }
    const error = errors.length ? errors.join("; ") : "no CA holder is known (members.json is empty and no peer answers on its join port)";
    const first = !this.#state.renewalFailing;
    this.#state = { ...this.#state, renewalFailing: { since: this.#state.renewalFailing?.since ?? new Date().toISOString(), error } };
    // Said when it starts failing and every 10 minutes after, not at every 5 s retry.
    if (first || Date.now() - this.#lastRenewalLog > RENEWAL_LOG_EVERY_MS) {
      this.#lastRenewalLog = Date.now();
      this.#o.log.error("certificate renewal through a CA holder failed; retrying every few seconds", { error, not_after: this.#o.notAfter?.()?.toISOString() });
    }
  }

  #saveState(): void {
    try {
      writeFileAtomic(dataDirLayout(this.#o.dataDir).membershipState, JSON.stringify(this.#state, null, 2) + "\n", 0o600);
    } catch (err) {
      this.#o.log.warn("could not record the membership state for unibus status", { error: (err as Error).message });
    }
  }
}

/**
 * removedAt is when the CA holders' members list says `name` was removed
 * (its removed record's last change, ISO time), from check-in replies; the
 * left marker says that time, not when this box learned it (on the bed a box
 * removed by recover while powered off said "removed at" its own boot).
 */
export function removedAt(replies: readonly ({ members?: unknown } | undefined)[], name: string): string | undefined {
  const times = replies.flatMap((r) => (Array.isArray(r?.members) ? r.members : []))
    .filter((m): m is { name: string; removed: true; updatedAt: number } => typeof m === "object" && m !== null && (m as { name?: unknown }).name === name && (m as { removed?: unknown }).removed === true && typeof (m as { updatedAt?: unknown }).updatedAt === "number")
    .map((m) => m.updatedAt);
  return times.length ? new Date(Math.min(...times)).toISOString() : undefined;
}

/** tlsMaterial reads this node's CA, certificate and key (PEM text) for a check-in over mutual TLS; fs errors are thrown. */
function tlsMaterial(tls: { certFile: string; keyFile: string; caFile: string }): { ca: string; cert: string; key: string } {
  return { ca: readFileSync(tls.caFile, "utf8"), cert: readFileSync(tls.certFile, "utf8"), key: readFileSync(tls.keyFile, "utf8") };
}
