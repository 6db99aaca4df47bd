/**
 * node.ts assembles one unibus node from its config: lock the data dir, clear
 * a stale child, render the nats config, extract the binary, supervise the
 * child. start() leaves nothing half-started when it fails; stop() is
 * idempotent and copes with a partial start.
 */
import { fromSeed } from "@nats-io/nkeys";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { hashedSecrets, natsConfigText, renderNatsConfig, type NodeTlsFiles } from "./config/render.ts";
import { prepareNatsPasswordHashes } from "./auth/bcrypt.ts";
import { restartOnlyChange, type UnibusConfig } from "./config/sections.ts";
import { writeFileAtomic } from "./fsutil.ts";
import { RuntimeError, describeError } from "./errors.ts";
import type { Logger } from "./log.ts";
import { ensureEmbeddedNats, type NatsBinary } from "./natsd/binary.ts";
import { MonitorClient } from "./natsd/monitor.ts";
import { lockDataDir, stopStaleNats, type DataDirLock } from "./natsd/stale.ts";
import { NatsSupervisor, type ReloadResult } from "./natsd/supervisor.ts";
import { prepareIdentity, type IdentityManager } from "./identity.ts";
import { AdminServer } from "./admin/server.ts";
import { HealthEngine } from "./diagnosis/engine.ts";
import { ClusterHealth } from "./diagnosis/cluster-health.ts";
import { membersToAsk } from "./diagnosis/cluster-facts.ts";
import type { ClusterStatus } from "./cluster/status.ts";
import { waitForSaneClock, type ClockFloor } from "./clock.ts";
import { embeddedNatsMeta, type EmbeddedNatsMeta } from "./runtime-embedded.ts";
import { pathExists } from "./fsutil.ts";
import { NODE_CERT_FILE, readCertificateFile } from "./pki/index.ts";
import { LogRing } from "./admin/log-ring.ts";
import { ensureSystemCredential, type SystemCredential } from "./natsd/system-credential.ts";
import { BackupSchedule } from "./backup/schedule.ts";
import { takeBackup, type BackupProgress } from "./backup/take.ts";
import { backupFileName } from "./backup/files.ts";
import type { BackupControl } from "./control/backup.ts";
import { ensureJetstreamCredential, type JetstreamCredential } from "./natsd/jetstream-credential.ts";
import { MqttReplicaKeeper } from "./mqtt/replica-keeper.ts";
import { explainReloadRefusal } from "./natsd/reload-refusal.ts";
import { kickRevokedEdges, revokedEdgeUsers } from "./natsd/edge-kick.ts";
import { SystemClient } from "./natsd/system-client.ts";
import { StatzSurvey } from "./admin/metrics-surveyor.ts";
import { StreamMarks } from "./membership/stream-marks.ts";
import { NatsEventBook, type NatsEvent } from "./diagnosis/nats-events.ts";
import { preflightWarnings } from "./diagnosis/preflight.ts";
import { NodeMembership } from "./membership/node-membership.ts";
import { FLEET_INTERVAL_MS, FleetWatch } from "./fleet/fleet-watch.ts";
import { CaAuthority } from "./membership/ca-authority.ts";
import { ForwardWatch } from "./fleet/forward-watch.ts";
import { EdgeAgent } from "./membership/edge-agent.ts";
import { EdgeReporter } from "./fleet/edge-report.ts";
import { enrolledUplink } from "./config/section-leafnodes.ts";
import { HomeReturn } from "./fleet/home-return.ts";
import { FLEET_STREAM, ensureFleetStream, forwardingEdges, type FleetStreamState } from "./fleet/store-and-forward.ts";
import { connectJetstream } from "./backup/connect.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Jsz } from "./natsd/monitoring-types.ts";
import { dataDirLayout } from "./data-dir.ts";
import { AccessLedger } from "./access/ledger.ts";
import { AccessReplica } from "./access/replica.ts";
import { usesClusterAccess } from "./access/client-users.ts";
import { ControlServer } from "./control/server.ts";
import { loadConfig } from "./config/load.ts";
import { ReloadQueue } from "./reload-queue.ts";
import type { ReloadOutcome } from "./reload-outcome.ts";

/** NodeHooks let the caller react to life-cycle events (systemd notify, admin page). */
export interface NodeHooks {
  onReady?: (info: { pid: number; restart: boolean }) => void;
  /** The start is held (e.g. for the clock); message says why and what fixes it. */
  onWaiting?: (message: string) => void;
  /**
   * nats-server is not ready yet (a JetStream restore after an unclean stop):
   * text says what it does, progressing whether anything moved since the last call (every few seconds).
   */
  onStarting?: (info: { text: string; progressing: boolean }) => void;
  /**
   * reloadFromFile re-reads the config file and applies it (run.ts: with its
   * log settings, systemd notices and the recorded outcome); the control
   * channel's reload calls it. Without it the node loads the file and
   * applies it itself, one reload at a time.
   */
  reloadFromFile?: () => Promise<ReloadOutcome>;
  /**
   * natsBinary puts the nats-server binary into binDir: this executable's
   * embedded one unless given (an in-process test node runs the host's
   * vendored binary, since build/embed holds the last target built).
   */
  natsBinary?: (binDir: string) => Promise<NatsBinary & { meta: EmbeddedNatsMeta }>;
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
  #systemCredential?: SystemCredential;
  /** unibus's own key in the clients' account, for backup and restore. */
  #jetstreamCredential?: JetstreamCredential;
  /** Raises MQTT's streams to the cluster's replica count ([mqtt] on a cluster; lib/mqtt/replica-keeper.ts). */
  #mqttReplicas?: MqttReplicaKeeper;
  /** The scheduled backups ([backup]; lib/backup/schedule.ts). */
  #backups?: BackupSchedule;
  /** A backup taken now for `unibus backup` (lib/control/backup.ts). */
  #backupControl?: BackupControl;
  /** Every server's statsz over the system account, for surveyor's families in /metrics. */
  #survey?: StatzSurvey;
  /** The streams' leaders' last sequences, kept for `unibus recover` (clustered JetStream only). */
  #streamMarks?: StreamMarks;
  /** The causes nats-server names in its log, shared with `unibus status` through a file. */
  #events?: NatsEventBook;
  #membership?: NodeMembership;
  /** A hub's watch over its edges (lib/fleet/fleet-watch.ts). */
  #fleet?: FleetWatch;
  /** An edge's store-and-forward stream keeper (lib/fleet/forward-watch.ts). */
  #forward?: ForwardWatch;
  /** An edge's verdict, reported to its hub over the uplink (lib/fleet/edge-report.ts). */
  #edgeReporter?: EdgeReporter;
  /** An enrolled edge's check-ins with the hub's CA holders: CA rotations, renewals (lib/membership/edge-agent.ts). */
  #edgeAgent?: EdgeAgent;
  #homeReturn?: HomeReturn;
  /** The hub's connection for sourcing its edges' streams, and the edges already sourced. */
  #fleetJs?: NatsConnection;
  #sourced = new Set<string>();
  /** The cluster's users as this member knows them (local copy), and the replica that keeps it in step. */
  #access?: AccessLedger;
  #replica?: AccessReplica;
  /** The one health engine: every surface reads its cached assessment (lib/diagnosis/engine.ts). */
  #health?: HealthEngine;
  /** A CA holder's CA: which CA signs, the rotation's gate (lib/membership/ca-authority.ts). */
  #ca?: CaAuthority;
  /** The control socket `unibus reload` and `unibus status` ask (lib/control). */
  #control?: ControlServer;
  /** Reloads from the file when the caller gave no reloadFromFile. */
  readonly #fileReloads: ReloadQueue<ReloadOutcome>;
  /** This node's answers to, and questions of, the other members (lib/diagnosis/cluster-health.ts). */
  #clusterHealth?: ClusterHealth;
  /** The last log lines, for the admin page. */
  readonly #logRing: LogRing;
  readonly #removeLogSink: () => void;
  readonly #startedAt = Date.now();
  #stopped = false;
  #starting?: Promise<void>;
  #changes: Promise<void> = Promise.resolve();
  /** The config as last rendered for nats-server (members' routes and enrolled edges folded in). */
  #rendered?: UnibusConfig;

  constructor(config: UnibusConfig, log: Logger, hooks: NodeHooks = {}) {
    this.#config = config;
    this.#log = log;
    this.#hooks = hooks;
    this.#logRing = new LogRing(undefined, (t) => log.redact(t));
    this.#removeLogSink = log.addSink(this.#logRing.sink);
    this.#fileReloads = new ReloadQueue(() => this.#reloadFile());
  }

  /** config is the effective configuration currently applied. */
  get config(): UnibusConfig { return this.#config; }
  /** supervisor exposes the child's state to status pages. */
  get supervisor(): NatsSupervisor | undefined { return this.#supervisor; }
  /** systemCredential is unibus's own system-account nkey (lib/natsd/system-client.ts signs in with it). */
  get systemCredential(): SystemCredential | undefined { return this.#systemCredential; }
  /** identity exposes the node certificate's state, when TLS is configured. */
  get identity(): IdentityManager | undefined { return this.#identity; }
  /** natsEvents are the causes nats-server logged, folded (lib/diagnosis/nats-events.ts), for health checks in this process. */
  natsEvents(): NatsEvent[] { return this.#events?.events() ?? []; }
  /** health is the node's health engine (undefined before start): the page, /readyz, /metrics and systemd's Status= read its assessment. */
  get health(): HealthEngine | undefined { return this.#health; }

  /**
   * status is what `unibus status` prints, from the node's one cached
   * assessment: the control channel's status route answers with it. It
   * throws a RuntimeError before the node has started.
   */
  async status(maxAgeMs?: number): Promise<ClusterStatus> {
    if (!this.#health) throw new RuntimeError("the node has not started yet");
    return this.#health.status(maxAgeMs);
  }

  /** controlSocket is the control channel's socket path, once it is open. */
  get controlSocket(): string | undefined { return this.#control?.socket; }

  /** reloadFromFile re-reads the config file and applies it: the caller's hook when given, else the node's own. */
  reloadFromFile(): Promise<ReloadOutcome> {
    return this.#hooks.reloadFromFile ? this.#hooks.reloadFromFile() : this.#fileReloads.request();
  }

  async #reloadFile(): Promise<ReloadOutcome> {
    const startedAt = Date.now();
    const file = this.#config.file;
    let ok = false;
    let message: string;
    try {
      const result = await this.reload(loadConfig(file));
      ok = result.ok;
      message = result.ok ? "configuration reloaded" : result.message;
    } catch (err) {
      message = describeError(err);
    }
    return { startedAt, finishedAt: Date.now(), ok, message: this.#log.redact(message), config: file };
  }

  /**
   * start brings the node up and resolves when nats-server is ready for
   * clients. A stop() during start wins: start then resolves quietly with
   * nothing left running.
   */
  start(): Promise<void> {
    this.#starting = (async () => {
      try {
        await this.#start();
      } catch (err) {
        await this.#teardown({});
        if (!this.#stopped) throw err;
        this.#log.debug("start interrupted by stop", { reason: (err as Error).message.split("\n")[0] });
      }
    })();
    return this.#starting;
  }

  /** #checkStop ends a start that a stop() overtook, between two of its steps. */
  #checkStop(): void {
    if (this.#stopped) throw new RuntimeError("stopped during start");
  }

  async #start(): Promise<void> {
    const config = this.#config;
    const log = this.#log;
    const paths = dataDirLayout(config.node.dataDir);
    mkdirSync(config.node.dataDir, { recursive: true, mode: 0o700 });
    this.#lock = lockDataDir(paths.lock, config.node.dataDir);
    const stale = await stopStaleNats(paths.natsPid, paths.bin);
    if (stale) log.warn("stopped a nats-server left running by an earlier unibus", { pid: stale });
    for (const w of preflightWarnings(config)) log.warn(w.message, { key: w.key, ...w.fields });
    this.#events = new NatsEventBook({ file: paths.natsEvents });
    this.#events.flush();
    this.#checkStop();
    await this.#waitForSaneClock();
    this.#checkStop();
    // A CA holder's one CA object: certificates and keys in memory, the rotation's gate.
    if (config.tls?.caKey) {
      this.#ca = new CaAuthority({
        config: () => this.#config,
        log: log.child({ component: "ca" }),
        ownIssuer: () => this.#identity?.identity?.issuerFingerprint,
        onSigningChanged: () => this.#serialized(async () => {
          if (await this.#identity?.ensure()) await this.#onCertificateRenewed();
        }),
      });
    }
    // The renewal check runs inside the serialized changes: it and a SIGHUP reload never interleave.
    this.#identity = await prepareIdentity(config, log, (check) => this.#serialized(async () => {
      if (await check()) await this.#onCertificateRenewed();
    }), this.#ca);
    this.#checkStop();
    this.#systemCredential = ensureSystemCredential(config.node.dataDir);
    log.addSecret(this.#systemCredential.seed);
    if (this.#systemCredential.generated) log.info("created the node's system-account credential", { file: this.#systemCredential.file });
    this.#jetstreamCredential = ensureJetstreamCredential(config.node.dataDir);
    log.addSecret(this.#jetstreamCredential.seed);
    if (config.cluster && config.tls) {
      this.#membership = new NodeMembership({
        config: () => this.#config,
        ...(this.#ca ? { authority: this.#ca } : {}),
        identity: () => this.#identity,
        monitor: new MonitorClient(config.monitor.listen.text),
        log,
        accessEntries: () => this.#access?.all() ?? [],
        onRenewed: () => this.#serialized(async () => {
          await this.#identity?.ensure();
          await this.#onCertificateRenewed();
        }),
        onEdgesChanged: () => void this.#serialized(() => this.#onEdgesChanged()),
        onMembersChanged: () => void this.#serialized(() => this.#followMembers()),
      });
      this.#membership.assertMember();
      // Removed while this box was down: the CA holders know, and nats-server must not route to the cluster first.
      await this.#membership.assertNotRemoved();
      // The local copy: a member cut off from the others starts with the users it knew.
      this.#access = new AccessLedger(config.node.dataDir);
      if (this.#access.active().length) log.info("admits the cluster's users from its local copy", { users: this.#access.active().length, file: this.#access.file });
    }
    await prepareNatsPasswordHashes(hashedSecrets(config), () => this.#stopped);
    this.#checkStop();
    this.#writeNatsConfig(this.#identity?.files);
    const binary = await (this.#hooks.natsBinary ?? ensureEmbeddedNats)(paths.bin);
    const meta = binary.meta;
    if (binary.replacedCorrupt) log.warn("replaced a corrupt cached nats-server binary", { path: binary.path });
    else if (binary.extracted) log.info("extracted nats-server", { path: binary.path, version: meta.version });
    const credential = this.#systemCredential;
    if (config.leafnodes?.listen) {
      this.#fleet = new FleetWatch({
        config: () => this.#config,
        ...(this.#membership ? { edges: this.#membership.edges } : {}),
        connect: () => SystemClient.connect(this.#config, { credential, name: "unibus-fleet" }),
        servers: () => this.#serversExpected(),
        connectClients: () => connectJetstream(this.#config, "unibus-fleet-reports"),
        log,
        ...(config.leafnodes.enroll && config.jetstream.enabled ? { storeAndForward: (edges: string[]) => this.#sourceForwardingEdges(edges) } : {}),
      });
    }
    if (this.#membership && this.#fleet) {
      // A rotation's gate waits only for enrolled edges that are connected (a view younger than two rounds).
      this.#membership.edgeConnected = (name) => {
        const view = this.#fleet?.view;
        if (!view || view.error || Date.now() - Date.parse(view.at) > 2 * FLEET_INTERVAL_MS) return undefined;
        return view.rows.find((r) => r.name === name && r.via === "enrolled")?.connected;
      };
    }
    if (enrolledUplink(config)) {
      this.#edgeAgent = new EdgeAgent({
        config: () => this.#config,
        log: log.child({ component: "uplink" }),
        onTrustChanged: () => this.#serialized(() => this.#onUplinkTrustChanged()),
      });
    }
    if (config.leafnodes?.remotes.some((r) => r.urls.length > 1)) {
      this.#homeReturn = new HomeReturn({
        config: () => this.#config,
        monitor: new MonitorClient(config.monitor.listen.text),
        connect: () => SystemClient.connect(this.#config, { credential, name: "unibus-uplink-home" }),
        log,
      });
    }
    if (config.leafnodes?.storeAndForward.length && config.jetstream.enabled) {
      this.#forward = new ForwardWatch(() => this.#config, () => connectJetstream(this.#config, "unibus-forward"), log);
    }
    this.#survey = new StatzSurvey(
      () => SystemClient.connect(this.#config, { credential, name: "unibus-survey" }),
      () => this.#serversExpected(),
    );
    if (config.cluster) {
      this.#clusterHealth = new ClusterHealth({
        connect: () => SystemClient.connect(this.#config, { credential, name: "unibus-health", lasting: true }),
        own: () => this.#health!.ownVerdict(),
      });
    }
    this.#health = new HealthEngine({
      monitor: new MonitorClient(config.monitor.listen.text),
      config: () => this.#config,
      events: () => this.#events?.events() ?? [],
      cluster: async (own) => {
        const ask = membersToAsk(own);
        return this.#clusterHealth?.facts(ask.expected, ask.names);
      },
    });
    this.#admin = new AdminServer({
      health: this.#health,
      config: () => this.#config,
      log,
      monitor: new MonitorClient(config.monitor.listen.text),
      identity: () => this.#identity?.identity,
      ring: this.#logRing,
      events: () => this.#events?.events() ?? [],
      versions: { unibus: meta.unibusVersion, nats: meta.version, target: meta.target },
      startedAt: this.#startedAt,
      survey: () => this.#survey!.survey(),
    });
    this.#admin.prepare();
    if (config.leafnodes?.remotes.length) {
      // An enrolled edge signs its reports with its uplink's own nkey, which its hub knows (lib/fleet/edge-report.ts).
      const seed = () => this.#config.leafnodes?.remotes.find((r) => r.nkey?.value)?.nkey?.value?.trim();
      const signer = seed() ? (data: Uint8Array) => fromSeed(new TextEncoder().encode(seed()!)).sign(data) : undefined;
      this.#edgeReporter = new EdgeReporter({
        name: () => this.#config.node.name,
        verdict: () => this.#health!.ownVerdict(),
        versions: { unibus: meta.unibusVersion, nats: meta.version },
        connect: () => connectJetstream(this.#config, "unibus-edge-report"),
        ...(signer ? { sign: signer } : {}),
        log,
      });
    }
    this.#supervisor = new NatsSupervisor({
      binaryPath: binary.path,
      configFile: paths.natsConfig,
      monitor: new MonitorClient(config.monitor.listen.text, undefined, config.cluster && config.jetstream.enabled ? "js-enabled-only=true" : ""),
      log,
      onLine: (msg) => this.#events?.observe(msg),
      dataDir: config.node.dataDir,
      onStarting: ({ text, progressing }) => this.#hooks.onStarting?.({ text, progressing }),
      ...(config.node.lameDuckMs !== undefined ? { lameDuckMs: config.node.lameDuckMs } : {}),
      // A planned stop of a clustered JetStream node hands its stream and meta leaderships away first.
      handOverLeaders: Boolean(config.cluster && config.jetstream.enabled),
      onReady: (info) => this.#hooks.onReady?.(info),
    });
    this.#checkStop();
    this.#events.start();
    await this.#supervisor.start();
    this.#clusterHealth?.start();
    this.#checkStop();
    this.#identity?.startRenewalTimer();
    await this.#membership?.start();
    this.#fleet?.start();
    if (config.mqtt && config.cluster && config.jetstream.enabled) {
      this.#mqttReplicas = new MqttReplicaKeeper({
        config: () => this.#membership?.routed(this.#config) ?? this.#config,
        monitor: new MonitorClient(config.monitor.listen.text),
        log: log.child({ component: "mqtt" }),
      });
      this.#mqttReplicas.start();
    }
    if (config.cluster && config.jetstream.enabled) {
      this.#streamMarks = new StreamMarks(() => this.#config);
      this.#streamMarks.start();
    }
    this.#forward?.start();
    this.#edgeAgent?.start();
    this.#homeReturn?.start();
    this.#edgeReporter?.start();
    this.#startReplica();
    await this.#admin.start();
    this.#startBackups(meta.unibusVersion);
    this.#checkStop();
    this.#control = new ControlServer(config.node.dataDir, {
      config: () => this.#config,
      log,
      status: (maxAgeMs) => this.status(maxAgeMs),
      reload: () => this.reloadFromFile(),
      access: () => (this.#access && this.#systemCredential ? { ledger: this.#access, credential: this.#systemCredential } : undefined),
      ca: () => this.#ca,
      backup: () => this.#backupControl,
      edges: () => (this.#membership ? { registry: this.#membership.edges, changed: () => void this.#serialized(() => this.#onEdgesChanged()) } : undefined),
    });
    this.#control.start();
  }

  /** #startBackups starts the backup schedule and offers `unibus backup` a backup taken by the node (lib/control/backup.ts); both go through the node's own client port. */
  #startBackups(unibusVersion: string): void {
    let progress: BackupProgress | undefined;
    this.#backupControl = {
      progress: () => progress,
      take: async () => {
        const config = this.#config;
        const passphrase = config.backup.passphrase?.value;
        const out = join(config.backup.dir, backupFileName(config.node.name, Date.now(), true));
        try {
          const r = await takeBackup(config, { out, unibusVersion, ...(passphrase ? { passphrase } : {}), onProgress: (p) => { progress = p; } });
          const m = r.manifest;
          this.#log.info("backup written on request", { file: r.file, bytes: r.bytes, duration_ms: m.durationMs });
          return { file: r.file, bytes: r.bytes, durationMs: m.durationMs, streams: m.streams.length, kv: m.streams.filter((x) => x.kind === "kv").length, objects: m.streams.filter((x) => x.kind === "object").length, files: m.files.length, notes: m.notes };
        } finally {
          progress = undefined;
        }
      },
    };
    this.#backups = new BackupSchedule({
      config: () => this.#config,
      log: this.#log,
      take: async (out, config) => {
        const passphrase = config.backup.passphrase?.value;
        return (await takeBackup(config, { out, unibusVersion, ...(passphrase ? { passphrase } : {}) })).bytes;
      },
    });
    this.#backups.start();
  }

  /**
   * #startReplica keeps the local copy of the cluster's users in step with
   * the other members (lib/access/replica.ts); every change re-renders
   * nats-server's users and reloads it, which keeps unaffected clients
   * connected and closes those of a removed user.
   */
  #startReplica(): void {
    if (!this.#access || !this.#systemCredential) return;
    const ledger = this.#access;
    this.#replica = new AccessReplica({
      ledger,
      config: () => this.#config,
      credential: this.#systemCredential,
      log: this.#log,
      onChange: (names, from) => void this.#serialized(async () => {
        if (this.#stopped) return;
        const t0 = Date.now();
        this.#writeNatsConfig(this.#identity?.files);
        const result = await this.#supervisor?.reload();
        const applies = usesClusterAccess(this.#config);
        if (result?.ok) this.#log.info(applies ? "applied a change to the cluster's users" : "recorded a change to the cluster's users (not applied here: allow_anonymous = true)", { users: names.join(","), from, active: ledger.active().length, reload_ms: Date.now() - t0 });
        else if (result) this.#log.error("nats-server refused the cluster's users", { users: names.join(","), reason: result.message });
      }),
    });
    this.#replica.start().catch((err: Error) => {
      if (!this.#stopped) this.#log.error("cannot keep the cluster's users in step: the system-account connection failed; this node admits the users it knew", { error: err.message });
    });
  }

  /**
   * #waitForSaneClock holds the start while the clock is before this build or
   * the start of a configured certificate (a Pi without a real-time clock,
   * before NTP): certificate checks would fail, or a new certificate would be
   * dated in the past. A stop() ends the wait.
   */
  async #waitForSaneClock(): Promise<void> {
    const floors: ClockFloor[] = [];
    const meta = await embeddedNatsMeta();
    if (meta.builtAt) floors.push({ at: new Date(meta.builtAt), source: "the time this unibus was built" });
    const tls = this.#config.tls;
    const certs: [string | undefined, string][] = [
      [tls?.caCert, "CA certificate"],
      [tls?.cert, "node certificate"],
      [tls ? dataDirLayout(this.#config.node.dataDir).nodeCert : undefined, "node certificate"],
    ];
    for (const [file, what] of certs) {
      if (!file || !pathExists(file)) continue;
      try {
        floors.push({ at: (await readCertificateFile(file, what)).notBefore, source: `the start of the ${what} ${file}` });
      } catch {
        // unreadable or garbled: the identity step reports it with the fix
      }
    }
    const t0 = Date.now();
    const ok = await waitForSaneClock(floors, {
      stopped: () => this.#stopped,
      onWait: (wait) => {
        this.#log.warn(wait.message);
        this.#hooks.onWaiting?.(wait.message);
      },
    });
    if (ok && Date.now() - t0 > 1_500) this.#log.info("the system clock is set; starting", { waited_s: Math.round((Date.now() - t0) / 1000) });
  }

  /** #serialized runs one config change at a time: a SIGHUP reload and a certificate renewal never interleave. */
  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#changes.then(work, work);
    this.#changes = run.then(() => {}, () => {});
    return run;
  }

  #natsConfigText(config: UnibusConfig, tls: NodeTlsFiles | undefined): string {
    return natsConfigText(renderNatsConfig(config, tls, this.#systemCredential?.publicKey, this.#access?.all(), this.#jetstreamCredential?.publicKey), this.#config.file);
  }

  #writeNatsConfig(tls: NodeTlsFiles | undefined): void {
    const paths = dataDirLayout(this.#config.node.dataDir);
    const config = this.#membership?.routed(this.#config) ?? this.#config;
    this.#rendered = config;
    writeFileAtomic(paths.natsConfig, this.#natsConfigText(config, tls), 0o600);
  }

  /**
   * #serversExpected is how many servers of this cluster should answer a
   * system-account ping (the fleet view, the /metrics survey): this node and
   * every current member, the ones that joined after the config was written
   * included. The config's peers alone are a snapshot: init cluster's pi-1
   * lists only itself, so its rounds ended after its own answer and its
   * fleet view called an edge on pi-3 "not connected to any hub node".
   */
  #serversExpected(): number {
    if (!this.#config.cluster) return 1;
    const routed = this.#membership?.routed(this.#config) ?? this.#config;
    return membersToAsk({ node: this.#config.node.name, config: routed, members: this.#membership?.registry.all() ?? [] }).expected;
  }

  /**
   * #followMembers re-renders the nats-server config after the members list
   * changed and reloads nats-server when that changed it: every member's
   * routes (and MQTT's replica count) follow the cluster as it is now, not
   * as the config file knew it; a restart renders the same from members.json.
   */
  async #followMembers(): Promise<void> {
    if (this.#stopped || !this.#supervisor) return;
    this.#mqttReplicas?.checkSoon();
    const file = dataDirLayout(this.#config.node.dataDir).natsConfig;
    const routed = this.#membership?.routed(this.#config) ?? this.#config;
    let current = "";
    try {
      current = readFileSync(file, "utf8");
    } catch {
      // missing: write it
    }
    if (this.#natsConfigText(routed, this.#identity?.files) === current) return;
    this.#writeNatsConfig(this.#identity?.files);
    const result = await this.#supervisor.reload();
    if (result.ok) this.#log.info("the members list changed; nats-server now routes to every member", { routes: routed.cluster?.routes.map((r) => r.text).join(",") ?? "" });
    else this.#log.error("the members list changed but nats-server refused the new routes", { reason: result.message });
  }

  async #onCertificateRenewed(): Promise<void> {
    this.#writeNatsConfig(this.#identity?.files);
    const result = await this.#supervisor?.reload();
    this.#membership?.reloadCertificate();
    if (result?.ok) this.#log.info("nats-server reloaded the renewed certificate");
    else if (result) this.#log.error("nats-server refused the renewed certificate", { reason: result.message });
    await this.#admin?.reloadCertificate().catch((err: Error) => this.#log.error("admin page could not switch to the renewed certificate", { error: err.message }));
  }

  /**
   * #sourceForwardingEdges keeps the hub's UNIBUS_FLEET sourcing every
   * enrolled edge that stores and forwards. Only the JetStream meta leader
   * does it (one hub node, not all of them asking every edge), and only edges
   * not sourced yet are asked whether they keep a stream.
   */
  async #sourceForwardingEdges(edges: string[]): Promise<FleetStreamState | undefined> {
    const config = this.#config;
    if (config.cluster) {
      const jsz = await new MonitorClient(config.monitor.listen.text).get<Jsz>("jsz").catch(() => undefined);
      if (jsz?.meta_cluster?.leader !== config.node.name) return undefined;
    }
    if (!this.#fleetJs || this.#fleetJs.isClosed()) this.#fleetJs = await connectJetstream(config, "unibus-fleet");
    const fresh = await forwardingEdges(this.#fleetJs, edges.filter((e) => !this.#sourced.has(e)));
    const state = await ensureFleetStream(this.#fleetJs, fresh, this.#serversExpected());
    this.#sourced = new Set(state.sources.map((s) => s.edge));
    if (fresh.length) this.#log.info("the hub's fleet stream sources more edges", { stream: FLEET_STREAM, edges: fresh.join(",") });
    return state;
  }

  /**
   * #onUplinkTrustChanged points an enrolled edge's uplink at the hub CAs it
   * keeps in its data dir (a CA rotation): nats-server takes a remote's new
   * CA on reload and uses it from the uplink's next connection, so a live
   * uplink stays up and a refused one gets through at its next attempt.
   */
  async #onUplinkTrustChanged(): Promise<void> {
    if (!this.#supervisor || this.#stopped) return;
    this.#writeNatsConfig(this.#identity?.files);
    const result = await this.#supervisor.reload();
    if (result.ok) this.#log.info("nats-server reloaded the hub's CAs for the uplink");
    else this.#log.error("nats-server refused the hub's new CAs for the uplink", { reason: result.message });
  }

  /** #onEdgesChanged lets newly enrolled edges sign in and shuts removed ones out (nats keeps a leaf connection whose key was removed, so it is closed). */
  async #onEdgesChanged(): Promise<void> {
    if (!this.#supervisor || this.#stopped) return;
    // The registry already changed: what nats-server runs with is what was last rendered.
    const before = this.#rendered;
    // A record that changed without its sign-in (an edge's renewed certificate) leaves nats-server as it is.
    const signIns = (c: UnibusConfig | undefined) => JSON.stringify(c?.leafnodes?.enrolled ?? []);
    if (before && signIns(before) === signIns(this.#membership?.routed(this.#config))) return;
    this.#writeNatsConfig(this.#identity?.files);
    const result = await this.#supervisor.reload();
    if (!result.ok) {
      this.#log.error("nats-server refused the new list of enrolled edges", { reason: result.message });
      return;
    }
    this.#log.info("enrolled edges updated");
    if (before && this.#rendered) await this.#disconnectRevokedEdges(before, this.#rendered);
  }

  /**
   * reload applies a new config: the caller has validated it; settings that
   * nats-server cannot change live are reported by nats and left as they were.
   */
  reload(next: UnibusConfig): Promise<ReloadResult> {
    return this.#serialized(() => this.#reload(next));
  }

  async #reload(next: UnibusConfig): Promise<ReloadResult> {
    const refused = restartOnlyChange(this.#config, next);
    if (refused) return { ok: false, message: `${refused} cannot change while running; restart unibus` };
    const previous = this.#config;
    this.#config = next;
    this.#identity?.update(next);
    // A reload is when `unibus ca rotate` has the node take up the files it wrote.
    this.#ca?.refresh();
    let result: ReloadResult;
    let issued = false;
    try {
      issued = (await this.#identity?.ensure()) ?? false;
      await prepareNatsPasswordHashes(hashedSecrets(next));
      this.#writeNatsConfig(this.#identity?.files);
      result = (await this.#supervisor?.reload()) ?? { ok: false, message: "not running" };
      if (!result.ok) result = { ok: false, message: explainReloadRefusal(result.message) };
    } catch (err) {
      result = { ok: false, message: (err as Error).message };
    }
    if (!result.ok) {
      // Keep the file in step with what nats-server is actually running.
      this.#config = previous;
      this.#identity?.update(previous);
      this.#writeNatsConfig(this.#identity?.files);
    } else {
      // The join port follows the certificate and the trust bundle (a CA rotation changes the bundle alone).
      this.#membership?.reloadCertificate();
      void this.#ca?.evaluate();
      if (issued) await this.#admin?.reloadCertificate().catch((err: Error) => this.#log.error("admin page could not switch to the new certificate", { error: err.message }));
      await this.#disconnectRevokedEdges(previous, next);
    }
    return result;
  }

  /** #disconnectRevokedEdges closes the leaf connections of edges whose sign-in the reload removed (nats leaves them up). */
  async #disconnectRevokedEdges(previous: UnibusConfig, next: UnibusConfig): Promise<void> {
    const revoked = revokedEdgeUsers(previous, next);
    if (revoked.length === 0 || !this.#systemCredential) return;
    const credential = this.#systemCredential;
    try {
      const kicked = await kickRevokedEdges(revoked, new MonitorClient(next.monitor.listen.text), () => SystemClient.connect(next, { credential }));
      if (kicked.length) this.#log.info("disconnected edges whose sign-in was removed", { users: kicked.join(",") });
    } catch (err) {
      this.#log.warn("could not disconnect edges whose sign-in was removed; they stay connected until they drop", { users: revoked.join(","), error: (err as Error).message });
    }
  }

  /**
   * stop ends the child gracefully (or at once with force) and releases the
   * data dir. During a start it waits for the start to notice and unwind.
   */
  async stop(options: { force?: boolean } = {}): Promise<void> {
    if (this.#stopped && !options.force) return;
    this.#stopped = true;
    // A start waiting for nats-server's readiness must not outlast a SIGTERM: stop the child now (SIGKILL with force).
    if (this.#supervisor && (options.force || this.#supervisor.state === "starting")) void this.#supervisor.stop(options);
    await this.#starting?.catch(() => {});
    await this.#teardown(options);
  }

  async #teardown(options: { force?: boolean }): Promise<void> {
    await this.#control?.stop();
    this.#ca?.stop();
    this.#identity?.stopRenewalTimer();
    this.#backups?.stop();
    await this.#replica?.stop();
    await this.#mqttReplicas?.stop();
    await this.#membership?.stop();
    await this.#streamMarks?.stop();
    await this.#admin?.stop();
    await this.#survey?.close();
    await this.#fleet?.stop();
    await this.#clusterHealth?.stop();
    await this.#forward?.stop();
    await this.#edgeAgent?.stop();
    await this.#homeReturn?.stop();
    await this.#edgeReporter?.stop();
    await this.#fleetJs?.close().catch(() => {});
    await this.#supervisor?.stop(options);
    // A stopped node's causes are history: `unibus status` must not present them as the present.
    this.#events?.clear();
    this.#events?.stop();
    this.#removeLogSink();
    this.#lock?.release();
  }

  /** Symbol.asyncDispose lets tests write `await using node = …`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
