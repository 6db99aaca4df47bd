/**
 * edge-agent.ts is what an enrolled edge runs beside nats-server: like a
 * member's check-in (agent.ts), it visits the hub's CA holders on their join
 * ports every EDGE_CHECKIN_INTERVAL_MS with its own certificate (mutual
 * TLS), says which CAs it trusts, and takes the hub cluster's CAs from the
 * answer. So a CA rotation reaches the edge: it trusts the new CA before the
 * hub nodes present certificates from it (the rotation's gate waits for
 * edges that are up), its uplink's ca_file becomes the bundle it keeps in
 * `<data_dir>/uplink/`, and it renews its certificate from the new CA. An
 * edge that was down through a rotation's start asks the unverified hello
 * and takes only CAs endorsed by one it trusts. The join port is used, not
 * the uplink, because the uplink is what fails when the edge trusts the
 * wrong CA. Findings go to `<data_dir>/uplink/hub.json` for `unibus status`.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { fromSeed } from "@nats-io/nkeys";
import type { UnibusConfig } from "../config/load.ts";
import { enrolledUplink, uplinkCaFile } from "../config/section-leafnodes.ts";
import { joinHostPort, parsePeer, type HostPort } from "../config/units.ts";
import { DEFAULTS } from "../config/defaults.ts";
import { dataDirLayout } from "../data-dir.ts";
import { mkdirLikeParent, ownerOf, writeFileAtomic } from "../fsutil.ts";
import type { Logger } from "../log.ts";
import { PeriodicTask } from "../periodic-task.ts";
import { bundlePem, certFingerprint, colonFingerprint, createCertificateRequest, issuerOf, parseCertificates } from "../pki/index.ts";
import { judgeTrust, trustOfferOf, type TrustOffer } from "./trust-offer.ts";
import { wireRequest } from "./wire.ts";

/** EDGE_CHECKIN_INTERVAL_MS is how often an enrolled edge checks in: a fleet of 48 costs its CA holders about three TLS handshakes a second. */
export const EDGE_CHECKIN_INTERVAL_MS = 15_000;
/** RENEW_FRACTION: an edge renews its certificate once a third of its lifetime is left (as members do). */
const RENEW_FRACTION = 1 / 3;

/** EdgeUplinkState is what an enrolled edge knows of its hub's CA holders and its last check-in, kept in `<data_dir>/uplink/hub.json`. */
export interface EdgeUplinkState {
  updatedAt: string;
  /** The CA holders' join addresses ("host:port") to check in with, as the last answer named them. */
  services: string[];
  lastCheckin?: { at: string; with: string };
  checkinError?: string;
  checkinFailingSince?: string;
  lastRenewal?: string;
  renewalFailing?: { since: string; error: string };
  /** Set when the hub no longer trusts the CA that issued this edge's certificate (its rotation finished while the edge was away). */
  caRetired?: { since: string; cluster: string[] };
  /** Set when the hub removed this edge (unibus edge remove). */
  removed?: boolean;
}

/** readUplinkState reads an edge's findings; undefined when there are none. */
export function readUplinkState(dataDir: string): EdgeUplinkState | undefined {
  try {
    return JSON.parse(readFileSync(dataDirLayout(dataDir).uplinkState, "utf8")) as EdgeUplinkState;
  } catch {
    return undefined;
  }
}

/** writeUplinkState records an edge's findings (0600, owned like the data dir); join writes the first, with the CA holders it enrolled through. */
export function writeUplinkState(dataDir: string, state: EdgeUplinkState, owner: { uid: number; gid: number } | undefined = ownerOf(dataDir)): void {
  mkdirLikeParent(dataDirLayout(dataDir).uplink, 0o700);
  writeFileAtomic(dataDirLayout(dataDir).uplinkState, JSON.stringify(state, null, 2) + "\n", 0o600, owner);
}

/**
 * edgeCertificate is the certificate an enrolled edge checks in with: the
 * configured one (from `unibus join --edge`) or the one it renewed into
 * `<data_dir>/uplink/`, whichever lives longer. Undefined on a node that is
 * no enrolled edge.
 */
export function edgeCertificate(config: UnibusConfig): { certFile: string; keyFile: string } | undefined {
  const uplink = enrolledUplink(config);
  if (!uplink) return undefined;
  const { uplinkCert, uplinkKey } = dataDirLayout(config.node.dataDir);
  const until = (file: string) => {
    try {
      return Date.parse(new X509Certificate(readFileSync(file)).validTo);
    } catch {
      return -Infinity;
    }
  };
  return until(uplinkCert) > until(uplink.certFile) ? { certFile: uplinkCert, keyFile: uplinkKey } : { certFile: uplink.certFile, keyFile: uplink.keyFile };
}

/** EdgeAgentOptions connect the agent to its node. */
export interface EdgeAgentOptions {
  config: () => UnibusConfig;
  /** Called after the trusted CAs changed: the node re-renders the uplink's ca_file and reloads nats-server. */
  onTrustChanged: () => Promise<void>;
  log: Logger;
  intervalMs?: number;
}

/** EdgeAgent runs an enrolled edge's check-ins; start() and stop() bracket it. */
export class EdgeAgent {
  readonly #o: EdgeAgentOptions;
  readonly #task: PeriodicTask;
  #state: EdgeUplinkState;

  constructor(options: EdgeAgentOptions) {
    this.#o = options;
    this.#state = readUplinkState(options.config().node.dataDir) ?? { updatedAt: new Date().toISOString(), services: [] };
    this.#task = new PeriodicTask({
      run: () => this.checkInNow(),
      intervalMs: options.intervalMs ?? EDGE_CHECKIN_INTERVAL_MS,
      onError: (err) => this.#o.log.error("edge check-in failed", { error: err.message }),
    });
  }

  get state(): EdgeUplinkState { return this.#state; }

  start(): void {
    this.#task.start();
  }

  stop(): Promise<void> {
    return this.#task.stop();
  }

  /** #services are the CA holders to visit: the ones the last answer named, else every hub node's default join port. */
  #services(): HostPort[] {
    const uplink = enrolledUplink(this.#o.config());
    const guesses = (uplink?.urls ?? []).map((u) => joinHostPort(u.host, DEFAULTS.clusterListen.port + 1));
    const seen = new Set<string>();
    const out: HostPort[] = [];
    for (const text of this.#state.services.length ? this.#state.services : guesses) {
      const hp = parsePeer(text);
      if (typeof hp === "string" || seen.has(hp.text)) continue;
      seen.add(hp.text);
      out.push(hp);
    }
    return out;
  }

  /**
   * checkInNow runs one round: check in, take the hub's CAs, renew when due.
   * A round that changed what the edge trusts checks in again at once, so
   * the rotation's gate hears it now rather than a round later.
   */
  async checkInNow(again = true): Promise<void> {
    const config = this.#o.config();
    const uplink = enrolledUplink(config);
    const own = edgeCertificate(config);
    if (!uplink || !own) return;
    const caFile = uplinkCaFile(config, uplink)!;
    const material = { ca: readFileSync(caFile, "utf8"), cert: readFileSync(own.certFile, "utf8"), key: readFileSync(own.keyFile, "utf8") };
    const mine = parseCertificates(material.ca);
    const cert = parseCertificates(material.cert)[0];
    const issuer = cert ? await issuerOf(cert, mine) : undefined;
    const nkey = uplink.nkey?.value ? fromSeed(new TextEncoder().encode(uplink.nkey.value)).getPublicKey() : undefined;
    const trusts = mine.map(certFingerprint);
    const errors: string[] = [];
    let reached: string | undefined;
    let offer: TrustOffer | undefined;
    let removed = false;
    const services = new Set<string>();
    for (const service of this.#services()) {
      try {
        const reply = (await wireRequest(service, { op: "edge-checkin", trusts, ...(nkey ? { nkey } : {}) }, { ...material, timeoutMs: 5_000 })).body;
        if (reply.ok !== true) {
          if (reply.removed === true) removed = true;
          errors.push(`${service.text}: ${String(reply.error)}`);
          continue;
        }
        reached ??= service.text;
        offer ??= trustOfferOf(reply);
        if (Array.isArray(reply.services)) for (const s of reply.services) if (typeof s === "string") services.add(s);
      } catch (err) {
        errors.push(`${service.text}: ${(err as Error).message}`);
      }
    }
    const now = new Date().toISOString();
    if (removed && !this.#state.removed) this.#o.log.error("the hub removed this edge (unibus edge remove): its uplink is refused. To enroll it again: unibus join ADDR --token TOKEN --edge --name NAME --replace --force");
    this.#state = {
      ...this.#state,
      updatedAt: now,
      ...(services.size ? { services: [...services].sort() } : {}),
      ...(reached ? { lastCheckin: { at: now, with: reached } } : {}),
      checkinError: reached || errors.length === 0 ? undefined : errors.join("; "),
      checkinFailingSince: reached || errors.length === 0 ? undefined : (this.#state.checkinFailingSince ?? now),
      removed,
    };
    const verified = Boolean(offer);
    // An edge that cannot verify any CA holder may have missed a rotation's start: ask unverified; only endorsed CAs are taken.
    if (!offer) offer = await this.#helloOffer();
    const trustBefore = trusts.join();
    const renew = offer ? await this.#judgeTrust(offer, mine, issuer ? certFingerprint(issuer) : undefined, verified) : false;
    const trustChanged = parseCertificates(readFileSync(uplinkCaFile(config, uplink)!, "utf8")).map(certFingerprint).join() !== trustBefore;
    const due = cert ? Date.now() >= cert.notAfter.getTime() - (cert.notAfter.getTime() - cert.notBefore.getTime()) * RENEW_FRACTION : false;
    if ((renew || due) && !removed && !this.#state.caRetired) await this.#renew(config, nkey, renew);
    this.#save();
    if (trustChanged && again) await this.checkInNow(false);
  }

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

  /** #judgeTrust takes the hub's word on its CAs (endorsed ones only) and says whether the hub signs with another CA than the edge's certificate's. */
  async #judgeTrust(offer: TrustOffer, mine: ReturnType<typeof parseCertificates>, ownIssuer: string | undefined, verified: boolean): Promise<boolean> {
    const verdict = await judgeTrust(mine, ownIssuer, offer, { verified });
    const dataDir = this.#o.config().node.dataDir;
    if (verdict.kind === "retired") {
      if (!this.#state.caRetired) this.#o.log.error("the hub no longer trusts the CA that issued this edge's certificate (its CA rotation finished while this edge was away); enroll again: unibus join ADDR --token TOKEN --edge --name NAME --replace --force", { hub_ca: verdict.cluster.map(colonFingerprint).join(",") });
      this.#state = { ...this.#state, caRetired: { since: this.#state.caRetired?.since ?? new Date().toISOString(), cluster: verdict.cluster } };
      return false;
    }
    this.#state = { ...this.#state, caRetired: undefined };
    if (verdict.kind === "update") {
      mkdirLikeParent(dataDirLayout(dataDir).uplink, 0o700);
      writeFileAtomic(dataDirLayout(dataDir).uplinkTrust, bundlePem(verdict.trust), 0o644, ownerOf(dataDir));
      this.#o.log.info("the hub's CAs changed (CA rotation); the uplink trusts them now", { ca: verdict.trust.map((c) => colonFingerprint(certFingerprint(c)).slice(0, 23)).join(",") });
      await this.#o.onTrustChanged();
    }
    return verdict.renew;
  }

  /** #renew asks a CA holder for a certificate for a new key; written to `<data_dir>/uplink/` (the configured files under /etc stay as joined). */
  async #renew(config: UnibusConfig, nkey: string | undefined, rotation: boolean): Promise<void> {
    const uplink = enrolledUplink(config);
    const own = edgeCertificate(config);
    if (!uplink || !own) return;
    const material = { ca: readFileSync(uplinkCaFile(config, uplink)!, "utf8"), cert: readFileSync(own.certFile, "utf8"), key: readFileSync(own.keyFile, "utf8") };
    const errors: string[] = [];
    for (const service of this.#services()) {
      try {
        const request = await createCertificateRequest(config.node.name);
        const reply = (await wireRequest(service, { op: "edge-renew", csr: request.csrPem, ...(nkey ? { nkey } : {}) }, { ...material, timeoutMs: 10_000 })).body;
        if (reply.ok !== true || typeof reply.cert !== "string") {
          errors.push(`${service.text}: ${String(reply.error ?? "no certificate in the answer")}`);
          continue;
        }
        const paths = dataDirLayout(config.node.dataDir);
        mkdirLikeParent(paths.uplink, 0o700);
        writeFileAtomic(paths.uplinkKey, request.keyPem, 0o600, ownerOf(config.node.dataDir));
        writeFileAtomic(paths.uplinkCert, reply.cert, 0o644, ownerOf(config.node.dataDir));
        this.#o.log.info(rotation ? "the hub rotated its CA: renewed this edge's certificate from the new CA" : "renewed this edge's certificate through a CA holder of the hub", { ca_holder: service.text });
        this.#state = { ...this.#state, lastRenewal: new Date().toISOString(), renewalFailing: undefined };
        return;
      } catch (err) {
        errors.push(`${service.text}: ${(err as Error).message}`);
      }
    }
    const error = errors.join("; ") || "no CA holder of the hub is known";
    if (!this.#state.renewalFailing) this.#o.log.error("renewing this edge's certificate through the hub failed; retrying at the next check-in", { error });
    this.#state = { ...this.#state, renewalFailing: { since: this.#state.renewalFailing?.since ?? new Date().toISOString(), error } };
  }

  #save(): void {
    try {
      writeUplinkState(this.#o.config().node.dataDir, this.#state);
    } catch (err) {
      this.#o.log.warn("could not record the edge's check-in for unibus status", { error: (err as Error).message });
    }
  }
}
