/**
 * node.ts assembles one unibus node from its config: lock the data dir, clear
 * a stale child, render the nats config, extract the binary, supervise the
 * child. start() leaves nothing half-started when it fails; stop() is
 * idempotent and copes with a partial start.
 */
import { mkdirSync } from "node:fs";
import { natsConfigText, natsPaths, renderNatsConfig, type NodeTlsFiles } from "./config/render.ts";
import type { UnibusConfig } from "./config/load.ts";
import { writeFileAtomic } from "./fsutil.ts";
import type { Logger } from "./log.ts";
import { ensureNatsBinary } from "./natsd/binary.ts";
import { MonitorClient } from "./natsd/monitor.ts";
import { lockDataDir, stopStaleNats, type DataDirLock } from "./natsd/stale.ts";
import { NatsSupervisor, type ReloadResult } from "./natsd/supervisor.ts";
import { embeddedNatsBinary, embeddedNatsMeta } from "./runtime.ts";
import { prepareIdentity, type IdentityManager } from "./identity.ts";
import { AdminServer } from "./admin/server.ts";
import { LogRing } from "./admin/log-ring.ts";

/** NodeHooks let the caller react to life-cycle events (systemd notify, admin page). */
export interface NodeHooks {
  onReady?: (info: { pid: number; restart: boolean }) => void;
}

/** UnibusNode is one running appliance: nats-server plus everything unibus keeps around it. */
export class UnibusNode {
  #config: UnibusConfig;
  readonly #log: Logger;
  readonly #hooks: NodeHooks;
  #lock?: DataDirLock;
  #supervisor?: NatsSupervisor;
  #identity?: IdentityManager;
  #admin?: AdminServer;
  /** The last log lines, for the admin page. */
  readonly #logRing: LogRing;
  readonly #removeLogSink: () => void;
  readonly #startedAt = Date.now();
  #stopped = false;

  constructor(config: UnibusConfig, log: Logger, hooks: NodeHooks = {}) {
    this.#config = config;
    this.#log = log;
    this.#hooks = hooks;
    this.#logRing = new LogRing(undefined, (t) => log.redact(t));
    this.#removeLogSink = log.addSink(this.#logRing.sink);
  }

  /** config is the effective configuration currently applied. */
  get config(): UnibusConfig { return this.#config; }
  /** supervisor exposes the child's state to status pages. */
  get supervisor(): NatsSupervisor | undefined { return this.#supervisor; }
  /** identity exposes the node certificate's state, when TLS is configured. */
  get identity(): IdentityManager | undefined { return this.#identity; }

  /** start brings the node up and resolves when nats-server is ready for clients. */
  async start(): Promise<void> {
    try {
      await this.#start();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async #start(): Promise<void> {
    const config = this.#config;
    const log = this.#log;
    const paths = natsPaths(config.node.dataDir);
    mkdirSync(config.node.dataDir, { recursive: true, mode: 0o700 });
    this.#lock = lockDataDir(paths.lockFile, config.node.dataDir);
    const stale = await stopStaleNats(paths.pidFile, paths.binDir);
    if (stale) log.warn("stopped a nats-server left running by an earlier unibus", { pid: stale });
    this.#identity = await prepareIdentity(config, log, () => this.#onCertificateRenewed());
    this.#writeNatsConfig(this.#identity?.files);
    const meta = await embeddedNatsMeta();
    this.#admin = new AdminServer({
      config: () => this.#config,
      log,
      monitor: new MonitorClient(config.monitor.listen.text),
      identity: () => this.#identity?.identity,
      ring: this.#logRing,
      versions: { unibus: meta.unibusVersion, nats: meta.version, target: meta.target },
      startedAt: this.#startedAt,
    });
    this.#admin.prepare();
    const binary = await ensureNatsBinary(paths.binDir, { sha256: meta.sha256, load: () => embeddedNatsBinary(meta) });
    if (binary.replacedCorrupt) log.warn("replaced a corrupt cached nats-server binary", { path: binary.path });
    else if (binary.extracted) log.info("extracted nats-server", { path: binary.path, version: meta.version });
    this.#supervisor = new NatsSupervisor({
      binaryPath: binary.path,
      configFile: paths.configFile,
      monitor: new MonitorClient(config.monitor.listen.text, undefined, config.cluster && config.jetstream.enabled ? "js-enabled-only=true" : ""),
      log,
      ...(config.node.lameDuckMs !== undefined ? { lameDuckMs: config.node.lameDuckMs } : {}),
      onReady: (info) => this.#hooks.onReady?.(info),
    });
    await this.#supervisor.start();
    this.#identity?.startRenewalTimer();
    await this.#admin.start();
  }

  #writeNatsConfig(tls: NodeTlsFiles | undefined): void {
    const paths = natsPaths(this.#config.node.dataDir);
    writeFileAtomic(paths.configFile, natsConfigText(renderNatsConfig(this.#config, tls), this.#config.file), 0o600);
  }

  async #onCertificateRenewed(): Promise<void> {
    this.#writeNatsConfig(this.#identity?.files);
    const result = await this.#supervisor?.reload();
    if (result?.ok) this.#log.info("nats-server reloaded the renewed certificate");
    else if (result) this.#log.error("nats-server refused the renewed certificate", { reason: result.message });
    await this.#admin?.reloadCertificate().catch((err: Error) => this.#log.error("admin page could not switch to the renewed certificate", { error: err.message }));
  }

  /**
   * reload applies a new config: the caller has validated it; settings that
   * nats-server cannot change live are reported by nats and left as they were.
   */
  async reload(next: UnibusConfig): Promise<ReloadResult> {
    if (next.node.dataDir !== this.#config.node.dataDir) {
      return { ok: false, message: "node.data_dir cannot change while running; restart unibus" };
    }
    if (next.monitor.listen.text !== this.#config.monitor.listen.text) {
      return { ok: false, message: "monitor.listen cannot change while running; restart unibus" };
    }
    if (JSON.stringify(next.admin) !== JSON.stringify(this.#config.admin)) {
      return { ok: false, message: "[admin] cannot change while running; restart unibus" };
    }
    const previous = this.#config;
    this.#config = next;
    this.#identity?.update(next);
    await this.#identity?.ensure();
    this.#writeNatsConfig(this.#identity?.files);
    const result = (await this.#supervisor?.reload()) ?? { ok: false, message: "not running" };
    if (!result.ok) {
      // Keep the file in step with what nats-server is actually running.
      this.#config = previous;
      this.#identity?.update(previous);
      this.#writeNatsConfig(this.#identity?.files);
    }
    return result;
  }

  /** stop ends the child gracefully (or at once with force) and releases the data dir. */
  async stop(options: { force?: boolean } = {}): Promise<void> {
    if (this.#stopped && !options.force) return;
    this.#stopped = true;
    this.#identity?.stopRenewalTimer();
    await this.#admin?.stop();
    await this.#supervisor?.stop(options);
    this.#removeLogSink();
    this.#lock?.release();
  }

  /** Symbol.asyncDispose lets tests write `await using node = …`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
