/**
 * defaults.ts holds every default of the appliance config in one place, each
 * as a typed value (an address is a HostPort, a size a number of bytes), so
 * the schema uses them as they are and the annotated sample files and the
 * README agree on one value each.
 */
import type { LogLevel } from "../log.ts";
import { parseListen, type HostPort } from "./units.ts";

/** address turns a default listen address into its HostPort once, at load time. */
function address(text: string): HostPort {
  const hp = parseListen(text);
  if (typeof hp === "string") throw new Error(`bad default address ${text}: ${hp}`);
  return hp;
}

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** DEFAULTS holds the defaults of node.toml and of the commands that write one. */
export const DEFAULTS = {
  /** Relative to the config file's folder; $STATE_DIRECTORY wins when systemd sets it. */
  dataDir: "data",
  /** install.sh's layout: the config lives in installedConfigDir, its data in installedDataDir. */
  installedConfigDir: "/etc/unibus",
  /**
   * The data dir of a config in installedConfigDir, so `sudo unibus status`
   * and `config check` outside the service see the same data as the service
   * (which gets it as $STATE_DIRECTORY).
   */
  installedDataDir: "/var/lib/unibus",
  /** The systemd service install.sh installs (packaging/unibus.service). */
  installedService: "unibus",
  clientListen: address("127.0.0.1:4222"),
  /** nats-server monitoring: unauthenticated, so it never leaves loopback. */
  monitorListen: address("127.0.0.1:8222"),
  adminListen: address("127.0.0.1:8480"),
  /** Leaf-node port a hub listens on and an edge dials when the URL has no port (nats's default). */
  leafPort: 7422,
  /** User name edges sign in with when a hub uses one shared leaf secret. */
  leafUser: "leaf",
  /** How soon an edge redials a lost hub; nats adds jitter, so a fleet does not stampede. */
  leafReconnect: "1s",
  /** How soon a cut leaf uplink is noticed ([leafnodes] keepalive). */
  leafKeepaliveMs: 15_000,
  /** Route port, used only when [cluster] is present. */
  clusterListen: address("0.0.0.0:6222"),
  /** Gateway port, used only when [gateway] is present (nats's default gateway port). */
  gatewayListen: address("0.0.0.0:7222"),
  /** User name gateways of other clusters sign in with; the gateway secret is what matters. */
  gatewayUser: "unibus-gateway",
  adminEnabled: true,
  /** Inside the data dir; generated (0600) on first start when [admin] token_file is not set. */
  jetstreamEnabled: true,
  jetstreamMaxMemory: 256 * MiB,
  jetstreamMaxFile: 8 * GiB,
  /** fsync on every acknowledged write: one power circuit in a home lab must not lose acked data. */
  jetstreamSync: "always" as "always" | number,
  logLevel: "info" as LogLevel,
  logFormat: "auto" as "auto" | "text" | "json",
  allowAnonymous: false,
  /** TLS on the client port whenever a CA is configured. */
  clientTls: true,
  adminTls: false,
  adminAllowInsecure: false,
  /** How long nats waits after entering lame duck before closing clients. */
  lameDuckGrace: "10s",
  /** The admin page samples message rates every 5 s and keeps 10 minutes of them. */
  rateSampleIntervalMs: 5_000,
  rateSampleCapacity: 120,
  /** Node certificates live 397 days (the CA/Browser Forum maximum) and renew with a third left. */
  certLifetimeDays: 397,
  certRenewWhenRemaining: 1 / 3,
  /** The CA's common name when `unibus ca create` is not given one. */
  caName: "unibus cluster CA",
  /** A CA lives ten years: replacing it means touching every node. */
  caLifetimeDays: 3650,
  /** How long a new join token works (`unibus token create --ttl`): long enough to set up a box, short enough to forget. */
  joinTokenTtl: "24h",
  /**
   * TLS handshake timeout in seconds on every port (client, route, leaf,
   * MQTT, WebSocket): a cold Raspberry Pi 3 doing ECDSA under load needs more
   * than nats's 2 s default.
   */
  tlsTimeoutS: 5,
  /** Scheduled backups are on: a home lab has no operator to remember them. */
  backupEnabled: true,
  /** Inside the data dir unless [backup] dir points elsewhere (another disk is better). */
  backupDir: "backups",
  /** k3s's floor for its datastore snapshots: twice a day, keep five. */
  backupEvery: "12h",
  backupKeep: 5,
} as const;

/** SUPERVISION holds the timings of the child-process supervisor. */
export const SUPERVISION = {
  /**
   * How often a start that is not ready yet reports what nats-server is doing
   * (log, systemd STATUS= and EXTEND_TIMEOUT_USEC, `unibus status`). There is
   * no readiness deadline: a JetStream restore takes as long as it takes.
   */
  startReportMs: 10_000,
  /** A start with no log line, CPU time or disk read for this long is named as stalled (still not killed). */
  startStallMs: 120_000,
  readyPollMs: 50,
  restartBackoffInitialMs: 250,
  restartBackoffMaxMs: 30_000,
  /** A child that stayed up this long resets the back-off. */
  restartStableMs: 60_000,
  /** How long a graceful stop waits beyond lame duck before SIGKILL. */
  stopGraceMs: 30_000,
  /** How long a planned stop waits for nats to hand its JetStream leaderships away (lame duck, then SIGTERM). */
  leaderHandoverMs: 5_000,
  /** How long to wait for nats-server to report the outcome of a reload. */
  reloadReportMs: 3_000,
  /** Lines of child stderr kept to explain an early exit. */
  stderrTailLines: 20,
} as const;

/**
 * CLUSTER holds the route-layer tuning for small clusters (3-5 boxes on one
 * LAN), chosen and measured in tests/cluster-*.test.ts; see the README.
 */
export const CLUSTER = {
  /** One route connection per pair of nodes (no pooling): fewer TLS handshakes on a Pi, simpler to reason about when links flap. */
  poolSize: -1,
  /** Off: a LAN has bandwidth to spare and a Raspberry Pi has little CPU; s2 on every message costs more than it saves. */
  compression: "off",
  /**
   * Route keep-alive: a pulled cable leaves the TCP connection "up", and
   * nats's 2-minute default would report the peer for ~4 minutes; 5 s x 3
   * missed pongs notices it in about 15 s.
   */
  pingInterval: "5s",
  pingMax: 3,
  /** Route authentication timeout in seconds; at least the TLS timeout so a slow handshake is not cut off. */
  authTimeoutS: 5,
  /** The route secret must be long enough that guessing it is hopeless. */
  minSecretLength: 16,
  /**
   * The most replicas MQTT's `$MQTT_*` streams get: three survive one node
   * down with a majority left; more only slows every QoS 1 publish (nats's
   * own cap in mqttDetermineReplicas).
   */
  mqttMaxReplicas: 3,
  /**
   * How long nats-server's MQTT layer waits for a JetStream API answer
   * (`js_api_timeout`: a session lookup at CONNECT, the consumer behind a
   * QoS 1/2 SUBSCRIBE). nats's 5 s is shorter than a new replicated
   * consumer's first election when the member it prefers is down (its raft
   * election timeout is 4–9 s): with one of three members powered off, new
   * QoS 1/2 subscriptions got refused SUBACKs (2 of the 5 made after
   * the cut, in each of two runs of tests/bed-mqtt-power-cut.test.ts). Longer is not free: a request sent to
   * a stream whose leader just died is never answered, so a CONNECT then
   * waits the whole timeout before the device retries (16 s after a power
   * cut with 15 s). 12 s outlasts one election on a loaded Pi and keeps that
   * wait short.
   */
  mqttJsApiTimeout: "12s",
} as const;
