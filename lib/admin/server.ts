/**
 * server.ts runs the admin app for a node: it finds (or on first start
 * creates) the admin token, prints a newly created token once, registers it
 * as a secret, samples message rates, and serves the app on [admin] listen,
 * over TLS with the node certificate when `[admin] tls = true`.
 */
import type { UnibusConfig } from "../config/load.ts";
import { RuntimeError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { MonitorClient } from "../natsd/monitor.ts";
import type { NodeIdentity } from "../pki/index.ts";
import { serveHttp, type HttpServer } from "../runtime-http.ts";
import { createAdminApp } from "./app.tsx";
import type { LogRing } from "./log-ring.ts";
import type { NatsEvent } from "../diagnosis/nats-events.ts";
import type { Survey } from "./metrics-surveyor.ts";
import type { Versions } from "./model.ts";
import { createAdminSource, type AdminSource } from "./source.ts";
import type { HealthEngine } from "../diagnosis/engine.ts";
import { loadAdminToken, type AdminToken } from "./token.ts";

/** AdminServerOptions connect the admin server to its node. */
export interface AdminServerOptions {
  config: () => UnibusConfig;
  log: Logger;
  monitor: MonitorClient;
  identity: () => NodeIdentity | undefined;
  ring: LogRing;
  /** The causes nats-server logged, for the page's problems. */
  events?: () => NatsEvent[];
  versions: Versions;
  startedAt?: number;
  /** survey is every server's statsz over the system account (metrics-surveyor.ts). */
  survey?: () => Promise<Survey>;
  /** The node's health engine, whose one assessment the page, /readyz and /metrics read. */
  health?: HealthEngine;
}

/** AdminServer is the admin page and API of one running node. */
export class AdminServer {
  readonly #o: AdminServerOptions;
  #server?: HttpServer;
  #source?: AdminSource;
  #url?: string;
  #token?: AdminToken;
  #fetch?: (request: Request) => Response | Promise<Response>;

  constructor(options: AdminServerOptions) {
    this.#o = options;
  }

  /** url is where the admin page answers, once started. */
  get url(): string | undefined { return this.#url; }

  /**
   * prepare finds or creates the token before nats-server starts, so a bad
   * token file stops the node before anything runs. A new token is printed
   * here, once.
   */
  prepare(): void {
    const admin = this.#o.config().admin;
    if (!admin.enabled || this.#token) return;
    const token = loadAdminToken(admin);
    if (token.generated) {
      const log = this.#o.log.child({ component: "admin" });
      if (process.stderr.isTTY) {
        // On the operator's terminal: printed once, at creation; registered as a secret right
        // after, so no later line carries it.
        log.warn("admin token generated; it is printed only this once (also kept in the token file)", { url: this.#baseUrl(), token: token.value, token_file: token.source });
      } else {
        // journald and log files keep lines for long and are read by more people: only where it is.
        log.warn(`admin token generated; read it with: sudo cat ${token.source.replace(/^file /, "")}`, { url: this.#baseUrl(), token_file: token.source });
      }
    }
    this.#o.log.addSecret(token.value);
    this.#token = token;
  }

  #baseUrl(): string {
    const admin = this.#o.config().admin;
    return `${admin.tls ? "https" : "http"}://${admin.listen.text}/`;
  }

  /** start serves the admin app; it throws a clear error when the port is taken. */
  async start(): Promise<void> {
    const config = this.#o.config();
    const admin = config.admin;
    if (!admin.enabled) return;
    const log = this.#o.log.child({ component: "admin" });
    this.prepare();
    const token = this.#token!;
    let tls: { certFile: string; keyFile: string } | undefined;
    if (admin.tls) {
      const id = this.#o.identity();
      if (!id) throw new RuntimeError("[admin] tls = true but the node has no certificate");
      tls = { certFile: id.certFile, keyFile: id.keyFile };
    }
    const url = this.#baseUrl();
    this.#source = createAdminSource({
      monitor: this.#o.monitor,
      config: this.#o.config,
      identity: this.#o.identity,
      logs: () => this.#o.ring.lines(),
      ...(this.#o.events ? { events: this.#o.events } : {}),
      redact: (t) => this.#o.log.redact(t),
      versions: this.#o.versions,
      ...(this.#o.startedAt !== undefined ? { startedAt: this.#o.startedAt } : {}),
      ...(this.#o.health ? { engine: this.#o.health } : {}),
    });
    const app = createAdminApp({
      source: this.#source,
      token: token.value,
      versions: this.#o.versions,
      ...(this.#o.survey ? { survey: this.#o.survey } : {}),
      onError: (err, path) => log.error("admin request failed", { path, error: err.message }),
    });
    this.#fetch = app.fetch;
    try {
      this.#server = serveHttp(app.fetch, { hostname: admin.listen.host, port: admin.listen.port, ...(tls ? { tls } : {}) });
    } catch (err) {
      this.#source.stop();
      throw new RuntimeError(`cannot serve the admin page on ${admin.listen.text}: ${(err as Error).message} (is another program using port ${admin.listen.port}? set [admin] listen)`, { cause: err });
    }
    this.#source.start();
    this.#url = url;
    log.info("admin page ready", { url, token_file: token.source });
  }

  /**
   * reloadCertificate serves HTTPS with the renewed node certificate: the
   * listener is replaced (a gap of milliseconds, once in months); the app, its
   * sampler and the rate history stay.
   */
  async reloadCertificate(): Promise<void> {
    const admin = this.#o.config().admin;
    const id = this.#o.identity();
    if (!admin.tls || !this.#server || !this.#fetch || !id) return;
    await this.#server.stop();
    this.#server = serveHttp(this.#fetch, { hostname: admin.listen.host, port: admin.listen.port, tls: { certFile: id.certFile, keyFile: id.keyFile } });
    this.#o.log.child({ component: "admin" }).info("admin page serves the renewed certificate", { url: this.#url });
  }

  /** stop closes the listener and ends sampling; idempotent. */
  async stop(): Promise<void> {
    this.#source?.stop();
    this.#source = undefined;
    const server = this.#server;
    this.#server = undefined;
    await server?.stop();
  }
}
