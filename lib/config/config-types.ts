/**
 * config-types.ts is UnibusConfig, the one typed config tree, and the
 * effective value of every table in it. It lives apart from the section
 * modules (lib/config/section-*.ts) and their list (sections.ts), which
 * import it and which it never imports back, so the registry and its
 * sections form no import circle; sections.ts checks at compile time that
 * each section's schema outputs exactly the type declared here.
 */
import type { ResolvedSecret } from "../auth/secret-source.ts";
import type { LogLevel } from "../log.ts";
import type { HostPort } from "./units.ts";

/** ConfigIssue is one problem at one key. */
export interface ConfigIssue { path: readonly PropertyKey[]; message: string }

/** NodeConfig is the effective [node] table. */
export interface NodeConfig {
  /** nats server_name: the node's identity in every JetStream RAFT group. */
  name: string;
  /** Absolute path of the data dir. */
  dataDir: string;
  /** lame_duck_duration in ms, when the file sets it. */
  lameDuckMs?: number;
}

/** SubjectRule is an allow list and a deny list of subjects, as nats-server takes them. */
export interface SubjectRule { allow?: string[]; deny?: string[] }

/** ClientUser is one user name and password with optional subject rules (none: everything allowed). */
export interface ClientUser { user: string; password: ResolvedSecret; publish?: SubjectRule; subscribe?: SubjectRule; connectionTypes?: string[] }

/** ClientNkey is one nkey client; it may only use the subjects listed (allow-list model). */
export interface ClientNkey { publicKey: string; publish: string[]; subscribe: string[]; connectionTypes?: string[] }

/**
 * ClientConfig is the effective [client] table: the port, the address other
 * nodes' clients should dial when it is not the cluster address
 * (section-discovery.ts), and the access policy.
 */
export interface ClientConfig { listen: HostPort; advertise?: HostPort; allowAnonymous: boolean; users: ClientUser[]; nkeys: ClientNkey[] }

/** MonitorConfig is the effective [monitor] table. */
export interface MonitorConfig { listen: HostPort }

/** JetstreamConfig is the effective [jetstream] table. */
export interface JetstreamConfig {
  enabled: boolean;
  /** Bytes. */
  maxMemory: number;
  /** Bytes. */
  maxFile: number;
  /** True when max_file was not written and came from the disk-aware default. */
  maxFileFromDisk: boolean;
  /** "always" (fsync before every ack) or the flush interval in ms. */
  sync: "always" | number;
}

/** LogConfig is the effective [log] table. */
export interface LogConfig { level: LogLevel; format: "auto" | "text" | "json" }

/** AdminConfig is the effective [admin] setting every other module reads. */
export interface AdminConfig {
  enabled: boolean;
  listen: HostPort;
  /** Absolute path of the token file. */
  tokenFile: string;
  /** True when tokenFile is the default <data_dir>/admin.token, created on first start when missing. */
  tokenGenerated: boolean;
  /** True when the token comes from $UNIBUS_ADMIN_TOKEN, which wins over any file. */
  tokenFromEnv: boolean;
  /** Serve HTTPS with the node certificate. */
  tls: boolean;
  /** Allow plain HTTP on a non-loopback address. */
  allowInsecure: boolean;
}

/** ClusterConfig is the effective [cluster] setting every other module reads. */
export interface ClusterConfig {
  name: string;
  listen: HostPort;
  /**
   * Where a node holding the CA key serves joins, renewals and check-ins
   * (lib/membership): join_listen, or the route listen address with the next port.
   */
  joinListen: HostPort;
  /** Whether join_listen was written in the file (otherwise it is derived from listen). */
  joinListenSet: boolean;
  /** Every peer as written, this node included. */
  peers: HostPort[];
  /** This node's own address: `advertise`, or the one peer that is this host. Undefined when none was found. */
  self?: HostPort;
  /** How self was found: the advertise key, or matching the peers against this host. */
  selfFrom: "advertise" | "peers" | "none";
  /** Peers this node dials: every peer except itself. */
  routes: HostPort[];
  /** The route secret and where it came from; `error` when it could not be read. */
  secret: ResolvedSecret;
  /** Problems found while resolving (duplicate peers, two peers naming this host), reported by checkCluster. */
  problems: ConfigIssue[];
}

/** GatewayRemote is one other cluster this node's gateway dials. */
export interface GatewayRemote { name: string; urls: HostPort[] }

/** GatewayConfig is the effective [gateway] table. */
export interface GatewayConfig {
  /** This node's site when it keeps its own JetStream (domain = site, leaf links to the other sites); undefined: one supercluster. */
  site?: string;
  listen: HostPort;
  /** The address other sites reach this node's gateway at; nats-server's own choice when absent. */
  advertise?: HostPort;
  /** The supercluster's gateway secret and where it came from. */
  secret: ResolvedSecret;
  remotes: GatewayRemote[];
}

/** LeafUrl is a parsed hub address without credentials; host is bare (an IPv6 address without brackets). */
export interface LeafUrl { scheme: string; host: string; port: number; text: string }

/**
 * LeafRemote is one hub an edge dials: every node of the hub cluster it may
 * use (nats picks one at random and moves to another when it drops), shown
 * as `label`.
 */
export interface LeafRemote {
  urls: LeafUrl[];
  /** The hub node dialed first and returned to (home, given at enrollment); without it the edge's hashed first choice. */
  home?: LeafUrl;
  /** The hub node dialed second (fallback, given at enrollment); without it the rest in the edge's hashed order. */
  fallback?: LeafUrl;
  label: string; user: string; secret?: ResolvedSecret; /** An enrolled edge's own user nkey seed (nkey_file). */ nkey?: ResolvedSecret; caFile?: string;
  /** An enrolled edge's certificate from the hub's CA and its key (cert_file, key_file): it checks in with the hub's CA holders with them. */
  certFile?: string; keyFile?: string;
}

/** EnrolledEdge is an edge enrolled through the membership service: its name and the public nkey it signs in with. */
export interface EnrolledEdge { name: string; nkey: string }

/** LeafnodesConfig is the effective [leafnodes] table. */
export interface LeafnodesConfig {
  listen?: HostPort;
  /** Shared secret edges sign in with as user DEFAULTS.leafUser. */
  secret?: ResolvedSecret;
  users: { user: string; password: ResolvedSecret }[];
  remotes: LeafRemote[];
  /** Subjects an edge keeps in its JetStream stream UNIBUS_FORWARD (its own domain) until the hub has sourced them; empty: none. */
  storeAndForward: string[];
  /** Whether this hub admits edges enrolled with `unibus join --edge` (their keys come from the members' edges list). */
  enroll: boolean;
  /** The enrolled edges' keys, filled in by the running node from lib/membership/edges.ts; empty as read from the file. */
  enrolled: EnrolledEdge[];
  /** How soon a dead leaf connection is noticed and dropped, in ms (nats pings every third of it and drops after two unanswered). */
  keepaliveMs: number;
}

/** EdgeListener is an effective MQTT or WebSocket listener. */
export interface EdgeListener { listen: HostPort; tls: boolean; noTls: boolean }

/** SystemUser is an operator or tool signing in to the system account with a password. */
export interface SystemUser { user: string; password: ResolvedSecret }

/** SystemAccountConfig is the effective [system_account] table (empty lists when absent). */
export interface SystemAccountConfig { users: SystemUser[]; nkeys: string[] }

/** LimitsConfig is the effective [limits] table: only the keys the file sets (nats's defaults otherwise). */
export interface LimitsConfig {
  maxPayload?: number;
  maxPending?: number;
  maxConnections?: number;
  maxControlLine?: number;
  writeDeadlineMs?: number;
  pingIntervalMs?: number;
}

/** TlsConfig is the effective [tls] table (UnibusConfig's tls is undefined without one). */
export interface TlsConfig {
  caCert: string;
  caKey?: string;
  cert?: string;
  key?: string;
  sans: string[];
  clientTls: boolean;
  lifetimeDays: number;
}

/** BackupConfig is the effective [backup] table. */
export interface BackupConfig {
  enabled: boolean;
  /** Absolute folder the scheduled backups go to. */
  dir: string;
  /** True when dir was not written (it is inside the data dir). */
  dirIsDefault: boolean;
  /** Milliseconds between scheduled backups. */
  everyMs: number;
  keep: number;
  /** The passphrase that encrypts the CA key and route secret in the backup, when a file is given. */
  passphrase?: ResolvedSecret;
}

/** UnibusConfig is the effective configuration every other module reads: one key per table, plus the file it came from. */
export interface UnibusConfig {
  /** The config file it was read from (absolute). */
  file: string;
  node: NodeConfig;
  client: ClientConfig;
  monitor: MonitorConfig;
  jetstream: JetstreamConfig;
  log: LogConfig;
  admin: AdminConfig;
  cluster?: ClusterConfig;
  gateway?: GatewayConfig;
  leafnodes?: LeafnodesConfig;
  mqtt?: EdgeListener;
  websocket?: EdgeListener;
  systemAccount: SystemAccountConfig;
  limits: LimitsConfig;
  tls?: TlsConfig;
  backup: BackupConfig;
}
