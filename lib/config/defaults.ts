/**
 * DEFAULTS holds every default of the appliance config in one place, so the
 * schema, the annotated sample files and the README agree on one value each.
 */
export const DEFAULTS = {
  /** Relative to the config file's folder; $STATE_DIRECTORY wins when systemd sets it. */
  dataDir: "data",
  clientListen: "127.0.0.1:4222",
  /** nats-server monitoring: unauthenticated, so it never leaves loopback. */
  monitorListen: "127.0.0.1:8222",
  adminListen: "127.0.0.1:8480",
  jetstreamEnabled: true,
  jetstreamMaxMemory: "256MiB",
  jetstreamMaxFile: "8GiB",
  /** fsync on every acknowledged write: one power circuit in a home lab must not lose acked data. */
  jetstreamSync: "always",
  logLevel: "info",
  logFormat: "auto",
  /** Node certificates live 397 days (the CA/Browser Forum maximum) and renew with a third left. */
  certLifetimeDays: 397,
  certRenewWhenRemaining: 1 / 3,
} as const;

/** SUPERVISION holds the timings of the child-process supervisor. */
export const SUPERVISION = {
  /** How long nats-server may take to answer /healthz after a start (JetStream recovery can be slow). */
  readyTimeoutMs: 120_000,
  readyPollMs: 50,
  restartBackoffInitialMs: 250,
  restartBackoffMaxMs: 30_000,
  /** A child that stayed up this long resets the back-off. */
  restartStableMs: 60_000,
  /** How long a graceful stop waits beyond lame duck before SIGKILL. */
  stopGraceMs: 30_000,
  /** How long to wait for nats-server to report the outcome of a reload. */
  reloadReportMs: 3_000,
  /** Lines of child stderr kept to explain an early exit. */
  stderrTailLines: 20,
} as const;
