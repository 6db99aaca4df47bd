/**
 * node-membership.ts wires membership into a running node: the members
 * list that extends the routes nats-server dials, the membership service on
 * a node that holds the CA key, and the check-in/renewal agent on every
 * clustered node. A join port that cannot be opened is reported, not fatal:
 * the bus matters more than admitting new boxes.
 */
import { leftMessage, readLeftMarker } from "./left-marker.ts";
import { readFileSync } from "node:fs";
import type { UnibusConfig } from "../config/load.ts";
import { certificateSans } from "../config/sections.ts";
import { ConfigError } from "../errors.ts";
import { joinHostPort, parsePeer, type HostPort } from "../config/units.ts";
import type { IdentityManager } from "../identity.ts";
import type { Logger } from "../log.ts";
import type { MonitorClient } from "../natsd/monitor.ts";
import type { Jsz, Routez } from "../natsd/monitoring-types.ts";
import { dataDirLayout } from "../data-dir.ts";
import { MembershipAgent } from "./agent.ts";
import { MemberRegistry, nodeId, selfRecord, type MemberRecord } from "./members.ts";
import { EdgeRegistry } from "./edges.ts";
import { DEFAULTS } from "../config/defaults.ts";
import { withMemberRoutes } from "./routes.ts";
import { MembershipService } from "./service.ts";
import { RotationGate } from "./rotation-gate.ts";
import type { CaAuthority } from "./ca-authority.ts";
import { tokenStorePath } from "./token-store.ts";
import { clientPolicyOf } from "./client-policy.ts";
import type { AccessEntry } from "../access/ledger.ts";

/** REMOVED_ASK_MS bounds how long a starting member waits for the CA holders to say whether it was removed (they answer in milliseconds; unreachable ones only delay the start by this). */
export const REMOVED_ASK_MS = 2_000;

/** NodeMembershipOptions connect membership to its node. */
export interface NodeMembershipOptions {
  config: () => UnibusConfig;
  identity: () => IdentityManager | undefined;
  monitor: MonitorClient;
  log: Logger;
  /** The cluster's users as this node knows them, handed to boxes that join here. */
  accessEntries?: () => readonly AccessEntry[];
  /** Re-read the certificate and reload nats-server (the agent renewed it). */
  onRenewed: () => Promise<void>;
  /** Re-render the edges' sign-ins and reload nats-server (an edge was enrolled or removed). */
  onEdgesChanged?: () => void;
  /** Called after the members list changed (a join, remove or check-in): the routes follow it. */
  onMembersChanged?: () => void;
  /** A CA holder's CA (lib/membership/ca-authority.ts): the join port signs with it; check-ins feed its rotation gate. */
  authority?: CaAuthority;
}

/** NodeMembership is one node's part in the cluster's membership. */
export class NodeMembership {
  readonly registry: MemberRegistry;
  /** The enrolled edges this hub node lets sign in (lib/membership/edges.ts). */
  readonly edges: EdgeRegistry;
  readonly #o: NodeMembershipOptions;
  readonly #id: string;
  #service?: MembershipService;
  #agent?: MembershipAgent;
  #serviceError?: string;
  readonly #gate: RotationGate;

  constructor(options: NodeMembershipOptions) {
    this.#o = options;
    const dataDir = options.config().node.dataDir;
    this.registry = new MemberRegistry(dataDir);
    this.edges = new EdgeRegistry(dataDir);
    this.#id = nodeId(dataDir);
    const name = options.config().node.name;
    this.#gate = options.authority?.useGate(this.registry, name) ?? new RotationGate(this.registry, name);
  }

  /**
   * assertMember refuses to start a node that left or was removed: it would
   * rejoin the JetStream meta group on its own and undo the remove.
   */
  assertMember(): void {
    const config = this.#o.config();
    const marker = readLeftMarker(config.node.dataDir);
    if (marker && marker.name === config.node.name) {
      throw new ConfigError(`${leftMessage(marker)} (recorded in ${dataDirLayout(config.node.dataDir).leftMarker}). To make this box a member again: unibus join ADDR --token TOKEN --name ${config.node.name} --replace --force (a token from unibus token create on a CA holder); to uninstall it: sudo ./install.sh --uninstall --purge`);
    }
    const own = this.registry.get(config.node.name);
    if (own?.removed && own.id === this.#id) {
      throw new ConfigError(`node "${config.node.name}" left cluster "${config.cluster?.name}" (unibus leave / remove; recorded in ${this.registry.file}) and does not start as a member again. To make this box a member again: unibus join ADDR --token TOKEN --name ${config.node.name} --replace --force; to uninstall it: sudo ./install.sh --uninstall --purge`);
    }
  }

  /** edgeConnected tells the CA rotation's gate which enrolled edges are connected now (the hub's fleet view): one that is not does not hold a rotation. */
  set edgeConnected(f: (name: string) => boolean | undefined) {
    this.#gate.edgeConnected = f;
  }

  /** serviceError says why this CA holder does not serve joins, when it does not. */
  get serviceError(): string | undefined { return this.#serviceError; }

  /** routed is the config with the members list folded into the routes and, on a hub that enrolls edges, the enrolled edges' keys into its sign-ins. */
  routed(config: UnibusConfig): UnibusConfig {
    const routed = withMemberRoutes(config, this.registry.all());
    const leaf = routed.leafnodes;
    if (!leaf?.listen || !leaf.enroll) return routed;
    return { ...routed, leafnodes: { ...leaf, enrolled: this.edges.active().map((e) => ({ name: e.name, nkey: e.nkey })) } };
  }

  /** #leafUrls is every hub node's leaf address: the configured peers' and the members' route hosts on this node's leaf port (a member that joined later is in the members list, a peer whose check-in has not arrived yet only in the config). */
  #leafUrls(): string[] {
    const config = this.#o.config();
    const port = config.leafnodes?.listen?.port ?? DEFAULTS.leafPort;
    const hosts = new Set<string>();
    for (const m of [this.self(), ...this.registry.active()]) {
      const hp = parsePeer(m.route);
      if (typeof hp !== "string") hosts.add(hp.host);
    }
    const removed = new Set(this.registry.all().filter((m) => m.removed).map((m) => parsePeer(m.route)).filter((hp): hp is HostPort => typeof hp !== "string").map((hp) => hp.host));
    for (const peer of config.cluster?.peers ?? []) if (!removed.has(peer.host)) hosts.add(peer.host);
    return [...hosts].map((h) => `nats-leaf://${joinHostPort(h, port)}`);
  }

  /** self is this node's member record as of now. */
  self(): MemberRecord {
    const config = this.#o.config();
    const cluster = config.cluster!;
    const route = cluster.self?.text ?? cluster.listen.text;
    const host = parsePeer(route);
    const service = config.tls?.caKey && typeof host !== "string" ? joinHostPort(host.host, cluster.joinListen.port) : undefined;
    const notAfter = this.#o.identity()?.identity?.notAfter.toISOString();
    const issuer = this.#o.identity()?.identity?.issuerFingerprint;
    return selfRecord(this.registry, { name: config.node.name, id: this.#id, route, ...(service ? { service } : {}), ...(notAfter ? { certNotAfter: notAfter } : {}), ...(issuer ? { caFingerprint: issuer } : {}) });
  }

  /** start opens the join port (CA holders) and starts checking in. */
  async start(): Promise<void> {
    const config = this.#o.config();
    const log = this.#o.log.child({ component: "membership" });
    if (!config.cluster || !config.tls) return;
    const identity = this.#o.identity();
    if (config.tls.caKey && identity?.files && this.#o.authority) {
      const service = new MembershipService({
        listen: config.cluster.joinListen,
        cluster: config.cluster.name,
        selfName: config.node.name,
        ca: () => this.#o.authority!.serviceCa(),
        tokensFile: tokenStorePath(config.file),
        routeSecret: () => this.#o.config().cluster!.secret.value ?? "",
        registry: this.registry,
        material: () => {
          const f = this.#o.identity()!.files!;
          return { cert: readFileSync(f.certFile, "utf8"), key: readFileSync(f.keyFile, "utf8"), ca: readFileSync(f.caFile, "utf8") };
        },
        liveNames: () => this.#liveNames(),
        metaGroup: async () => {
          // Without JetStream there is no meta group to grow, and nothing to wait for.
          if (!this.#o.config().jetstream.enabled) return undefined;
          const meta = (await this.#o.monitor.get<Jsz>("jsz")).meta_cluster;
          return { ...(meta?.leader ? { leader: meta.leader } : {}), ...(meta?.cluster_size !== undefined ? { size: meta.cluster_size } : {}) };
        },
        lifetimeDays: config.tls.lifetimeDays,
        clientPolicy: () => clientPolicyOf(this.#o.config()),
        ...(this.#o.accessEntries ? { accessEntries: this.#o.accessEntries } : {}),
        gate: this.#gate,
        ...(config.leafnodes?.listen && config.leafnodes.enroll ? { edges: this.edges, leafUrls: () => this.#leafUrls(), onEdgesChanged: () => this.#o.onEdgesChanged?.() } : {}),
        onMembersChanged: () => this.#o.onMembersChanged?.(),
        log,
      });
      try {
        await service.start();
        this.#service = service;
        log.info("join port open", { listen: config.cluster.joinListen.text });
        // A rotation in progress at start: record its phase and arm its deadline (check-ins move it on).
        void this.#o.authority.evaluate();
      } catch (err) {
        this.#serviceError = `cannot open the join port ${config.cluster.joinListen.text}: ${(err as Error).message} (set [cluster] join_listen to a free address)`;
        log.error("this CA holder cannot admit new members or renew certificates", { reason: this.#serviceError });
      }
    }
    this.#agent = this.#makeAgent(log);
    this.#agent.start();
  }

  /**
   * assertNotRemoved asks the CA holders (at most timeoutMs) whether this
   * node was removed while it was down, and then refuses to start as
   * assertMember does (agent.ts removedBeforeStart says why); no answer in
   * time lets the start go on.
   */
  async assertNotRemoved(timeoutMs = REMOVED_ASK_MS): Promise<void> {
    const config = this.#o.config();
    if (!config.cluster || !config.tls) return;
    const agent = this.#makeAgent(this.#o.log.child({ component: "membership" }));
    if (await agent.removedBeforeStart(timeoutMs)) this.assertMember();
  }

  #makeAgent(log: Logger): MembershipAgent {
    const config = this.#o.config();
    return new MembershipAgent({
      dataDir: config.node.dataDir,
      registry: this.registry,
      self: () => this.self(),
      fallbackServices: () => this.#fallbackServices(),
      tls: () => this.#o.identity()?.files,
      renewAt: () => (this.#o.config().tls?.caKey ? undefined : this.#o.identity()?.identity?.renewAt),
      notAfter: () => this.#o.identity()?.identity?.notAfter,
      sans: () => certificateSans(this.#o.config()),
      nodeName: () => this.#o.config().node.name,
      clusterName: () => this.#o.config().cluster?.name ?? "",
      onRenewed: () => this.#o.onRenewed(),
      trustFile: () => (this.#o.config().tls?.caKey ? undefined : dataDirLayout(this.#o.config().node.dataDir).trustBundle),
      ownIssuer: () => this.#o.identity()?.identity?.issuerFingerprint,
      onTrustChanged: () => this.#o.onRenewed(),
      conflicts: () => this.#service?.conflicts ?? [],
      edges: this.edges,
      onEdgesChanged: () => this.#o.onEdgesChanged?.(),
      onMembersChanged: () => this.#o.onMembersChanged?.(),
      log,
    });
  }

  /** reloadCertificate makes the join port serve a renewed certificate. */
  reloadCertificate(): void {
    this.#service?.reloadCertificate();
  }

  async stop(): Promise<void> {
    await this.#agent?.stop();
    await this.#service?.stop();
  }

  /** #fallbackServices guesses CA holders from the config's peers: same host, route port + 1 (the default join port). */
  #fallbackServices(): HostPort[] {
    const cluster = this.#o.config().cluster;
    if (!cluster) return [];
    const out: HostPort[] = [];
    for (const peer of cluster.routes) {
      const hp = parsePeer(joinHostPort(peer.host, peer.port + 1));
      if (typeof hp !== "string") out.push(hp);
    }
    return out;
  }

  async #liveNames(): Promise<{ known: Set<string>; connected: Set<string> }> {
    const known = new Set<string>();
    const connected = new Set<string>();
    const [routez, jsz] = await Promise.all([
      this.#o.monitor.get<Routez>("routez").catch(() => undefined),
      this.#o.monitor.get<Jsz>("jsz").catch(() => undefined),
    ]);
    for (const r of routez?.routes ?? []) if (r.remote_name) {
      known.add(r.remote_name);
      connected.add(r.remote_name);
    }
    for (const r of jsz?.meta_cluster?.replicas ?? []) known.add(r.name);
    if (jsz?.meta_cluster?.leader) known.add(jsz.meta_cluster.leader);
    return { known, connected };
  }
}
