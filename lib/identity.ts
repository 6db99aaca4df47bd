/**
 * identity.ts keeps the node's certificate valid for as long as the node
 * runs: it asks the PKI for a valid identity at start, and a timer renews it
 * when the renewal window opens, then tells the node to reload nats-server.
 */
import type { UnibusConfig } from "./config/load.ts";
import type { NodeTlsFiles } from "./config/render.ts";
import { certificateSans } from "./config/sections.ts";
import type { Logger } from "./log.ts";
import { pathExists } from "./fsutil.ts";
import { bundlePem, ensureNodeIdentity, expiresSoon, trustBundlePath, type NodeIdentity, type NodeIdentityOptions } from "./pki/index.ts";
import { CaAuthority } from "./membership/ca-authority.ts";
import { presentedCertificate } from "./membership/presented-certificate.ts";
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "./fsutil.ts";
import { dataDirLayout } from "./data-dir.ts";

/** RENEWAL_CHECK_MAX_MS bounds how long the timer sleeps: clocks jump, hosts suspend. */
const RENEWAL_CHECK_MAX_MS = 60 * 60 * 1000;

/** IdentityManager is the node's view of its certificate. */
export class IdentityManager {
  #config: UnibusConfig;
  readonly #log: Logger;
  readonly #renew: (check: () => Promise<boolean>) => Promise<void>;
  #identity?: NodeIdentity;
  #timer?: ReturnType<typeof setTimeout>;
  #stopped = false;
  #announced = false;

  /**
   * renew runs one timer check: it is handed the check (ensure) and must run
   * it inside the node's serialized changes, then reload nats-server when the
   * check issued a new certificate. The timer never calls ensure() itself, so
   * a renewal cannot interleave with a SIGHUP reload and leave nats-server
   * with a key and a certificate from two different issues.
   */
  constructor(config: UnibusConfig, log: Logger, renew: (check: () => Promise<boolean>) => Promise<void>, authority?: CaAuthority) {
    this.#config = config;
    this.#log = log;
    this.#renew = renew;
    this.#authority = authority;
  }

  /** #authority is a CA holder's CA (lib/membership/ca-authority.ts): it says which CA signs now. */
  readonly #authority?: CaAuthority;

  /** identity is the current certificate's description (admin page, status). */
  get identity(): NodeIdentity | undefined { return this.#identity; }

  /** files are what nats-server is configured with. */
  get files(): NodeTlsFiles | undefined {
    return this.#identity ? { certFile: this.#identity.certFile, keyFile: this.#identity.keyFile, caFile: this.#identity.caFile } : undefined;
  }

  /** update swaps in a reloaded config. */
  update(config: UnibusConfig): void {
    this.#config = config;
  }

  /** ensure issues, renews or checks the certificate and reports whether a new one was written. */
  async ensure(now?: Date): Promise<boolean> {
    const tls = this.#config.tls;
    if (!tls) {
      this.#identity = undefined;
      return false;
    }
    const tlsDir = dataDirLayout(this.#config.node.dataDir).tls;
    const base = {
      tlsDir,
      caCertFile: tls.caCert,
      nodeName: this.#config.node.name,
      extraSans: certificateSans(this.#config),
      lifetimeDays: tls.lifetimeDays,
      ...(now ? { now } : {}),
    };
    this.#identity = tls.caKey
      ? await ensureNodeIdentity({ ...base, ...(await caHolderSigning(dataDirLayout(this.#config.node.dataDir).trustBundle, this.#authority ?? new CaAuthority({ config: () => this.#config, log: this.#log }))) })
      : await provided(this.#config, { ...base, ...(pathExists(trustBundlePath(tlsDir)) ? { trustFile: trustBundlePath(tlsDir) } : {}) });
    const id = this.#identity;
    if (id.issued) this.#log.info("issued node certificate", { reason: id.reason, not_after: id.notAfter.toISOString(), days_left: id.daysLeft });
    // Said once at info; the hourly re-checks after that stay at debug.
    else this.#log.write(this.#announced ? "debug" : "info", "node certificate is valid", { not_after: id.notAfter.toISOString(), days_left: id.daysLeft });
    this.#announced = true;
    if (!tls.caKey && !this.#config.cluster && expiresSoon(id.daysLeft)) this.#log.warn("node certificate expires soon and this node has no CA key to renew it", { days_left: id.daysLeft });
    return id.issued;
  }

  /** nextCheckDelay says how long the renewal timer sleeps from `now`. */
  nextCheckDelay(now = Date.now()): number {
    if (!this.#identity) return RENEWAL_CHECK_MAX_MS;
    return Math.max(1_000, Math.min(this.#identity.renewAt.getTime() - now, RENEWAL_CHECK_MAX_MS));
  }

  /** startRenewalTimer checks the certificate when its renewal window opens (and hourly). */
  startRenewalTimer(delayMs = this.nextCheckDelay()): void {
    if (!this.#config.tls?.caKey) return;
    this.stopRenewalTimer();
    this.#stopped = false;
    this.#timer = setTimeout(async () => {
      try {
        await this.#renew(async () => !this.#stopped && (await this.ensure()));
      } catch (err) {
        this.#log.error("certificate renewal failed; will retry", { error: (err as Error).message });
      }
      if (!this.#stopped) this.startRenewalTimer(); // stop() during the check must not re-arm it
    }, delayMs);
    this.#timer.unref?.();
  }

  /** stopRenewalTimer cancels the pending check. */
  stopRenewalTimer(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * provided checks the pair a node without the CA key presents, as
 * presentedCertificate (lib/membership/presented-certificate.ts) chose it:
 * the configured one or the one the membership agent renewed through a CA
 * holder into <data_dir>/tls. A chosen pair that cannot work is checked all
 * the same, so the error names its problem and the fix; with no [tls] cert
 * and key set at all, the config's own error says what to set.
 */
async function provided(config: UnibusConfig, base: Omit<NodeIdentityOptions, "certFile" | "keyFile">): Promise<NodeIdentity> {
  const chosen = presentedCertificate(config, base.now)!;
  const tls = config.tls!;
  if (chosen.unusable && (!tls.cert || !tls.key)) return ensureNodeIdentity({ ...base, ...(tls.cert ? { certFile: tls.cert } : {}), ...(tls.key ? { keyFile: tls.key } : {}) });
  return ensureNodeIdentity({ ...base, certFile: chosen.certFile, keyFile: chosen.keyFile });
}

/**
 * caHolderSigning asks the CA authority which CA signs now (the new one once
 * a rotation's members trust it) and writes the trust bundle nats-server
 * verifies peers with when it changed.
 */
async function caHolderSigning(trustFile: string, authority: CaAuthority): Promise<Pick<NodeIdentityOptions, "caCertFile" | "caKeyFile" | "trustFile" | "ca">> {
  const text = bundlePem(await authority.trust());
  let have = "";
  try {
    have = readFileSync(trustFile, "utf8");
  } catch {
    // first start
  }
  if (have !== text) writeFileAtomic(trustFile, text, 0o644);
  // In a rotation's first phase both CAs are trusted and the old one still signs.
  const signing = await authority.signing();
  return { caCertFile: signing.certFile, caKeyFile: signing.keyFile!, trustFile, ca: signing };
}

/** prepareIdentity makes sure a node with [tls] has a valid certificate before nats-server starts. */
export async function prepareIdentity(config: UnibusConfig, log: Logger, renew: (check: () => Promise<boolean>) => Promise<void>, authority?: CaAuthority): Promise<IdentityManager | undefined> {
  if (!config.tls) return undefined;
  const manager = new IdentityManager(config, log, renew, authority);
  await manager.ensure();
  return manager;
}
