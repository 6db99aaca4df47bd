/**
 * ca-authority.ts is a CA holder's one CA object, the way caddypki keeps its
 * CA: the CA certificates (a rotation's included) and the imported signing
 * keys live in memory, read again only when told (a reload) or when one of
 * the CA files changed (its size, mtime or inode; a stat per use, no parse).
 * It makes every "which CA signs now" decision — for the node's own
 * certificate, for joins and renewals on the join port — and owns the CA
 * rotation's gate: it moves to the second phase when a check-in shows that
 * the members trust the new CA, or when the first phase's time is up, never
 * by polling a file. Its other decision, which certificate the node
 * presents, is presented-certificate.ts beside it: one function every
 * surface asks.
 */
import { statSync } from "node:fs";
import type { UnibusConfig } from "../config/load.ts";
import type { Logger } from "../log.ts";
import { assertCaCertificate, certFingerprint, certificatePem, loadCa, readClusterCa, type ClusterCa, type LoadedCa } from "../pki/index.ts";
import { RotationGate, TRUST_PHASE_MAX_MS, writeRotationPhase } from "./rotation-gate.ts";
import type { MemberRegistry } from "./members.ts";
import type { ServiceCa } from "./service.ts";

/** CaAuthorityOptions connect the authority to its node. */
export interface CaAuthorityOptions {
  config: () => UnibusConfig;
  log: Logger;
  /** Called when a rotation's new CA starts to sign: the node reissues its own certificate from it. */
  onSigningChanged?: () => Promise<void>;
  /** sha256 (hex) of the CA that issued the node's own certificate now. */
  ownIssuer?: () => string | undefined;
}

/** CaSigningView is which CA signs now (sha256 hex) and, during a rotation, the new CA and the phase. */
export interface CaSigningView { signing: string; next?: string; phase?: "trust" | "reissue"; waitingFor?: string[] }

/** Loaded is one read of the CA files: what they hold, their stat signature, and the rotation's start (ms). */
interface Loaded { signature: string; ca: ClusterCa; nextFp?: string; rotationStartedAt?: number; keys: Map<string, LoadedCa> }

/** CaAuthority is one CA holder's CA; a node without [tls] ca_key has none. */
export class CaAuthority {
  readonly #o: CaAuthorityOptions;
  #loaded?: Loaded;
  #reading?: Promise<Loaded>;
  #stale = false;
  #gate?: RotationGate;
  /** The new CA (fingerprint) whose signing this node already took up. */
  #signingWith?: string;
  #deadline?: ReturnType<typeof setTimeout>;
  #evaluating = false;
  /** Callers waiting for a CA to sign (whenSigning), told after every evaluation. */
  readonly #waiters = new Set<() => void>();
  /** How many times the CA files were read and the keys imported (for tests and the report). */
  reads = 0;

  constructor(o: CaAuthorityOptions) {
    this.#o = o;
  }

  /** refresh makes the next use read the CA files again (a reload: `unibus ca rotate` wrote them). */
  refresh(): void {
    this.#stale = true;
  }

  /** useGate starts the rotation gate over the members list; check-ins report to it and it reacts at once. */
  useGate(registry: MemberRegistry, selfName: string): RotationGate {
    this.#gate = new RotationGate(registry, selfName, () => void this.evaluate());
    return this.#gate;
  }

  /** #files are the files whose change means a new read: the CA, its key, and a rotation's. */
  #files(): string[] {
    const tls = this.#o.config().tls!;
    const dir = tls.caCert.replace(/[^/]*$/, "");
    const keyDir = tls.caKey!.replace(/[^/]*$/, "");
    return [tls.caCert, tls.caKey!, `${dir}ca-next.pem`, `${keyDir}ca-next-key.pem`, `${dir}ca-next-endorsed.pem`, `${dir}ca-endorsed.pem`];
  }

  #signature(): string {
    return this.#files().map((f) => {
      try {
        const st = statSync(f);
        return `${f}:${st.ino}:${st.size}:${st.mtimeMs}`;
      } catch {
        return `${f}:-`;
      }
    }).join("|");
  }

  /** state returns the CA as the files hold it now, reading them only when they changed or a refresh was asked. */
  async state(): Promise<Loaded> {
    const signature = this.#signature();
    if (this.#loaded && !this.#stale && this.#loaded.signature === signature) return this.#loaded;
    this.#reading ??= (async () => {
      const tls = this.#o.config().tls!;
      this.#stale = false;
      const ca = await readClusterCa(tls.caCert, tls.caKey!);
      this.reads++;
      const nextFp = ca.next ? certFingerprint(ca.next) : undefined;
      let rotationStartedAt: number | undefined;
      try {
        if (ca.next) rotationStartedAt = statSync(ca.files.nextCert).mtimeMs;
      } catch {
        rotationStartedAt = Date.now();
      }
      const loaded: Loaded = { signature, ca, keys: new Map(), ...(nextFp ? { nextFp } : {}), ...(rotationStartedAt !== undefined ? { rotationStartedAt } : {}) };
      this.#loaded = loaded;
      this.#armDeadline(loaded);
      return loaded;
    })().finally(() => { this.#reading = undefined; });
    return this.#reading;
  }

  /**
   * nextCaReady says whether a rotation's new CA may sign now: once the
   * members that are up trust it, or TRUST_PHASE_MAX_MS after the rotation
   * started. True when no rotation is in progress (or nothing was read yet).
   */
  nextCaReady(now = Date.now()): boolean {
    const l = this.#loaded;
    if (!l?.nextFp) return true;
    // No gate before membership starts (the node's first certificate): nobody has reported yet, as today.
    if (!this.#gate) return true;
    return this.#gate.ready(l.nextFp, l.rotationStartedAt ?? 0, now);
  }

  /** signing is the CA that signs now, with its imported key (imported once per read of the files). */
  async signing(now = new Date()): Promise<LoadedCa> {
    const l = await this.state();
    const tls = this.#o.config().tls!;
    const files = l.ca.next && !this.nextCaReady(now.getTime()) ? { certFile: tls.caCert, keyFile: tls.caKey! } : l.ca.signing;
    let ca = l.keys.get(files.certFile);
    if (!ca) {
      ca = await loadCa(files.certFile, files.keyFile, now);
      l.keys.set(files.certFile, ca);
    }
    assertCaCertificate(ca.cert, files.certFile, now);
    return ca;
  }

  /**
   * view says which CA signs now and where a rotation stands, as
   * fingerprints (sha256 hex): what `unibus token create` pins.
   */
  async view(): Promise<CaSigningView> {
    const l = await this.state();
    const signing = certFingerprint((await this.signing()).cert);
    if (!l.nextFp) return { signing };
    const ready = this.nextCaReady();
    return { signing, next: l.nextFp, phase: ready ? "reissue" : "trust", waitingFor: ready ? [] : this.#gate?.waitingFor(l.nextFp) ?? [] };
  }

  /** whenSigning resolves true once the CA with fingerprint fp signs (at once if it does), false after timeoutMs. */
  async whenSigning(fp: string, timeoutMs: number): Promise<boolean> {
    if ((await this.view()).signing === fp) return true;
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(ok);
      };
      const check = () => void this.view().then((v) => { if (v.signing === fp) done(true); }, () => {});
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref?.();
      this.#waiters.add(check);
    });
  }

  /** trust is every CA a node must trust now (both during a rotation). */
  async trust(): Promise<ClusterCa["trust"]> {
    return (await this.state()).ca.trust;
  }

  /** serviceCa is what the join port signs with and hands out. */
  async serviceCa(): Promise<ServiceCa> {
    const signing = await this.signing();
    const { ca } = await this.state();
    return {
      signing,
      signingPem: certificatePem(signing.cert),
      digest: certFingerprint(signing.cert),
      trust: ca.trust.map(certificatePem),
      endorsements: ca.endorsements.map(certificatePem),
    };
  }

  /**
   * evaluate re-judges the rotation's phase (after a check-in, at the first
   * phase's deadline, after a reload): it records the phase for status and,
   * when the new CA starts to sign, has the node reissue its own certificate.
   */
  async evaluate(): Promise<void> {
    if (this.#evaluating) return;
    this.#evaluating = true;
    try {
      const l = await this.state();
      if (!l.nextFp) return;
      const ready = this.nextCaReady();
      try {
        writeRotationPhase(this.#o.config().node.dataDir, { newCa: l.nextFp, phase: ready ? "reissue" : "trust", waitingFor: ready ? [] : this.#gate?.waitingFor(l.nextFp) ?? [] });
      } catch (err) {
        this.#o.log.warn("could not record the CA rotation's phase for unibus status", { error: (err as Error).message });
      }
      if (!ready || this.#signingWith === l.nextFp) return;
      this.#signingWith = l.nextFp;
      if (this.#o.ownIssuer?.() === l.nextFp) return;
      this.#o.log.info("CA rotation: the members trust the new CA; signing with it now, starting with this node's certificate");
      try {
        await this.#o.onSigningChanged?.();
      } catch (err) {
        this.#o.log.error("CA rotation: could not reissue this node's certificate from the new CA; retrying at the next check-in", { error: (err as Error).message });
      }
      if (this.#o.ownIssuer && this.#o.ownIssuer() !== l.nextFp) this.#signingWith = undefined;
    } catch (err) {
      this.#o.log.warn("could not read the CA files", { error: (err as Error).message });
    } finally {
      this.#evaluating = false;
      for (const w of [...this.#waiters]) w();
    }
  }

  /** #armDeadline wakes the gate when a rotation's first phase runs out of time, check-ins or not. */
  #armDeadline(l: Loaded): void {
    if (this.#deadline) clearTimeout(this.#deadline);
    this.#deadline = undefined;
    if (!l.nextFp || l.rotationStartedAt === undefined) return;
    const wait = l.rotationStartedAt + TRUST_PHASE_MAX_MS - Date.now();
    this.#deadline = setTimeout(() => void this.evaluate(), Math.max(0, wait) + 50);
    this.#deadline.unref?.();
  }

  /** stop cancels the deadline timer. */
  stop(): void {
    if (this.#deadline) clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }
}
