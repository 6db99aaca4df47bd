/**
 * run.ts is the appliance: load the config, start the node, then live with
 * signals until told to stop. SIGHUP and the control socket's POST /reload
 * reload (one at a time, lib/reload-queue.ts); SIGTERM/SIGINT stop
 * gracefully (exit 0); a second SIGINT forces exit.
 */
import { ExitCode, describeError } from "../errors.ts";
import { loadConfig, type UnibusConfig } from "../config/load.ts";
import { clientAuthWarnings } from "../config/section-client.ts";
import { configSecrets } from "../config/sections.ts";
import { Logger, chooseLogFormat, LOG_LEVELS, type LogLevel } from "../log.ts";
import { UnibusNode } from "../node.ts";
import { assertHostCanRun } from "../host-requirements.ts";
import { jscTiers, trimStartupMemory } from "../runtime-memory.ts";
import { notifyStatus, notifySystemd } from "../systemd/notify.ts";
import { HealthStatusReporter } from "../systemd/health-status.ts";
import { verdictLine } from "../diagnosis/problem.ts";
import { UsageError } from "../errors.ts";
import { configPath, parseCommand } from "./_flags.ts";
import { writeReloadOutcome, type ReloadOutcome } from "../reload-outcome.ts";
import { ReloadQueue } from "../reload-queue.ts";
import { readConfigSnapshot, writeAppliedConfig, type ConfigSnapshot } from "../applied-config.ts";

/** START_EXTEND_USEC is how far each progress report pushes systemd's start timeout (µs): a few reports' worth. */
const START_EXTEND_USEC = 60_000_000;

/** monotonicMicros is CLOCK_MONOTONIC in microseconds, which systemd wants beside RELOADING=1. */
function monotonicMicros(): string {
  return String(process.hrtime.bigint() / 1000n);
}

/** run starts the node described by --config and returns its exit code when it stops. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand("run", args);
  const format = values["log-format"];
  if (format !== undefined && !["text", "json", "auto"].includes(format)) throw new UsageError(`--log-format must be text, json or auto, got "${format}"`);
  const level = values["log-level"];
  if (level !== undefined && !LOG_LEVELS.includes(level as LogLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}, got "${level}"`);
  const file = configPath(values.config);
  const loaded = readConfigSnapshot(file);
  const config = loadConfig(file);
  assertHostCanRun(config.node.dataDir);
  // --log-level and --log-format win over [log], at start and on every reload.
  const logSettings = (next: UnibusConfig) => ({
    level: (level as LogLevel | undefined) ?? next.log.level,
    format: chooseLogFormat((format as "text" | "json" | "auto" | undefined) ?? next.log.format, process.env, Boolean(process.stderr.isTTY)),
  });
  const log = new Logger(logSettings(config));
  for (const secret of configSecrets(config)) log.addSecret(secret);

  // systemctl status shows the health verdict beside "ready": ready is not the same as healthy.
  const health = new HealthStatusReporter({
    // The node's one cached assessment: no snapshot of its own every 10 s.
    verdict: async () => {
      if (!node.health) throw new Error("the node has not started yet");
      return verdictLine((await node.health.assessment()).diagnosis);
    },
    send: (text) => notifySystemd(notifyStatus(text)),
    onError: (err) => log.debug("health check for systemd's status line failed", { error: describeError(err) }),
  });
  const node = new UnibusNode(config, log, {
    // Keep systemd's start timeout from killing a node that waits for a good reason (the clock).
    onWaiting: (message) => notifySystemd(`EXTEND_TIMEOUT_USEC=90000000\n${notifyStatus(message)}`),
    // A JetStream restore after an unclean stop can outlast TimeoutStartSec: extend it while nats-server
    // makes progress (log lines, CPU time, reads). A start where nothing moves stops being extended, so
    // systemd's own timeout ends a really hung one.
    onStarting: ({ text, progressing }) => notifySystemd(`${progressing ? `EXTEND_TIMEOUT_USEC=${START_EXTEND_USEC}\n` : ""}${notifyStatus(`nats-server is starting: ${text}`)}`),
    onReady: ({ restart }) => {
      const base = `nats-server ready on ${config.client.listen.text}${restart ? " (restarted)" : ""}`;
      notifySystemd(`READY=1\n${notifyStatus(base)}`);
      health.setBase(base);
    },
    reloadFromFile: () => reloads.request(),
  });

  let resolveStop!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => { resolveStop = resolve; });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      if (signal === "SIGINT") {
        log.warn("second interrupt: forcing exit");
        void node.stop({ force: true }).finally(() => resolveStop(ExitCode.forced));
      }
      return;
    }
    stopping = true;
    log.info("stopping", { signal });
    health.stop();
    notifySystemd("STOPPING=1");
    void node.stop().then(() => resolveStop(ExitCode.ok), (err) => {
      log.error("stop failed", { error: describeError(err) });
      resolveStop(ExitCode.failure);
    });
  };
  // One reload at a time; a request during a reload is answered by one more afterwards, so
  // every `unibus reload` gets an outcome that started after it asked (lib/reload-queue.ts).
  const reloadOnce = async (): Promise<ReloadOutcome> => {
    const startedAt = Date.now();
    if (stopping) return { startedAt, finishedAt: startedAt, ok: false, message: "unibus is stopping", config: file };
    notifySystemd(`RELOADING=1\nMONOTONIC_USEC=${monotonicMicros()}`);
    let ok = false;
    let message: string;
    let snapshot: ConfigSnapshot | undefined;
    try {
      snapshot = readConfigSnapshot(file);
      const next = loadConfig(file);
      for (const secret of configSecrets(next)) log.addSecret(secret);
      log.configure(logSettings(next));
      const result = await node.reload(next);
      ok = result.ok;
      message = result.ok ? "configuration reloaded" : result.message;
    } catch (err) {
      message = describeError(err);
    }
    message = log.redact(message);
    if (ok) log.info("configuration reloaded", { config: file });
    else log.error("reload refused; still running the previous configuration", { reason: message });
    const outcome: ReloadOutcome = { startedAt, finishedAt: Date.now(), ok, message, config: file };
    try {
      if (ok && snapshot) writeAppliedConfig(node.config.node.dataDir, { file: config.file, sha256: snapshot.sha256, at: startedAt }, snapshot.text);
      // Kept for status (a refused reload is a problem) and for a `unibus reload` that cannot reach the socket.
      writeReloadOutcome(node.config.node.dataDir, outcome);
    } catch (err) {
      log.warn("could not record the reload outcome", { error: describeError(err) });
    }
    const base = ok ? `nats-server ready on ${node.config.client.listen.text}` : `running the previous configuration: reload refused: ${message}`;
    notifySystemd(`READY=1\n${notifyStatus(base)}`);
    health.setBase(base);
    return outcome;
  };
  const reloads = new ReloadQueue(reloadOnce);
  const onTerm = () => stop("SIGTERM");
  const onInt = () => stop("SIGINT");
  const onHup = () => void reloads.request();
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);
  process.on("SIGHUP", onHup);
  // Said once the signal handlers are in place: from here a SIGTERM stops the node gracefully.
  log.info("starting unibus", { config: config.file, node: config.node.name, data_dir: config.node.dataDir });
  for (const warning of clientAuthWarnings(config)) log.warn(warning);
  try {
    await node.start();
    if (loaded) {
      try {
        // The absolute path: status compares it with its own config's (a relative --config never matched).
        writeAppliedConfig(config.node.dataDir, { file: config.file, sha256: loaded.sha256, at: Date.now() }, loaded.text);
      } catch (err) {
        log.warn("could not record which config version runs, for unibus status", { error: describeError(err) });
      }
    }
    if (process.env.NOTIFY_SOCKET) health.start();
  } catch (err) {
    process.off("SIGTERM", onTerm);
    process.off("SIGINT", onInt);
    process.off("SIGHUP", onHup);
    // nats-server's own output may quote a secret: redact before main prints it.
    if (err instanceof Error) err.message = log.redact(err.message);
    throw err;
  }
  if (!stopping) {
    log.info("unibus ready", { node: config.node.name, client: `nats://${config.client.listen.text}`, monitor: `http://${config.monitor.listen.text}` });
    log.debug("released start-up memory", { kib: trimStartupMemory(), jsc: jscTiers() });
  }
  const code = await stopped;
  log.info("stopped", { code });
  return code;
}
