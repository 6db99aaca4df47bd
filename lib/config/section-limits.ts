/**
 * section-limits.ts is the [limits] table: nats-server's per-connection
 * limits with units (sizes like "8MiB", durations like "2m"), checked
 * against each other the way nats-server checks them, so a bad value is a
 * config error naming file:line:key instead of a refused start.
 *
 * Which ones a SIGHUP applies follows nats-server's reload: max_payload,
 * max_connections, max_control_line, write_deadline and ping_interval
 * change live (new values reach new connections; existing clients get the
 * new payload limit and ping timer at once), max_pending needs a restart.
 */
import { z } from "zod";
import { parsed } from "./_parsed.ts";
import { noListeners, noSans, noSecrets, type ConfigIssue, type Section } from "./section.ts";
import { leafPingSettings } from "./section-leafnodes.ts";
import { gatewayPingSettings } from "./section-gateway.ts";
import { DURATION_HINT, SIZE_HINT, parseDuration, parseSize } from "./units.ts";
import type { LimitsConfig, UnibusConfig } from "./config-types.ts";
export type { LimitsConfig } from "./config-types.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** LIMIT_DEFAULTS are nats-server's own defaults, rendered only when a key is set. */
export const LIMIT_DEFAULTS = {
  maxPayload: 1 * MiB,
  maxPending: 64 * MiB,
  maxConnections: 64 * 1024,
  maxControlLine: 4 * KiB,
  writeDeadlineMs: 10_000,
  pingIntervalMs: 120_000,
} as const;

/** The bounds unibus accepts; nats-server stores max_payload and max_control_line as int32. */
const INT32_MAX = 2 ** 31 - 1;
const BOUNDS = {
  maxPayload: { min: 1, max: 64 * MiB },
  maxPending: { min: 64 * KiB, max: 4 * 1024 * MiB },
  maxControlLine: { min: 1 * KiB, max: 1 * MiB },
  writeDeadlineMs: { min: 100, max: 10 * 60_000 },
  pingIntervalMs: { min: 1_000, max: 24 * 3_600_000 },
} as const;

function human(bytes: number): string {
  if (bytes % MiB === 0) return `"${bytes / MiB}MiB"`;
  if (bytes % KiB === 0) return `"${bytes / KiB}KiB"`;
  return String(bytes);
}

function ranged(parse: (v: unknown) => number | string, hint: string, bound: { min: number; max: number }, show: (n: number) => string) {
  return parsed<number>(parse).superRefine((n, ctx) => {
    if (n < bound.min || n > bound.max) ctx.addIssue({ code: "custom", message: `expected ${hint} from ${show(bound.min)} to ${show(bound.max)}, got ${show(n)}` });
  });
}

const ms = (n: number) => (n % 3_600_000 === 0 ? `"${n / 3_600_000}h"` : n % 60_000 === 0 ? `"${n / 60_000}m"` : n % 1000 === 0 ? `"${n / 1000}s"` : `"${n}ms"`);

/** limitsTable is the [limits] table. */
const limitsTable = z.strictObject({
  max_payload: ranged(parseSize, SIZE_HINT, BOUNDS.maxPayload, human).optional(),
  max_pending: ranged(parseSize, SIZE_HINT, BOUNDS.maxPending, human).optional(),
  max_connections: z.number({ error: "expected a whole number of connections" }).int({ message: "expected a whole number of connections" })
    .min(1, { message: "expected at least 1 connection" }).max(INT32_MAX, { message: `expected at most ${INT32_MAX} connections` }).optional(),
  max_control_line: ranged(parseSize, SIZE_HINT, BOUNDS.maxControlLine, human).optional(),
  write_deadline: ranged(parseDuration, DURATION_HINT, BOUNDS.writeDeadlineMs, ms).optional(),
  ping_interval: ranged(parseDuration, DURATION_HINT, BOUNDS.pingIntervalMs, ms).optional(),
});


/** resolveLimits maps the raw table; absent keys stay absent so nats-server's defaults apply. */
function resolveLimits(raw: z.output<typeof limitsTable> | undefined): LimitsConfig {
  if (!raw) return {};
  const out: LimitsConfig = {};
  if (raw.max_payload !== undefined) out.maxPayload = raw.max_payload;
  if (raw.max_pending !== undefined) out.maxPending = raw.max_pending;
  if (raw.max_connections !== undefined) out.maxConnections = raw.max_connections;
  if (raw.max_control_line !== undefined) out.maxControlLine = raw.max_control_line;
  if (raw.write_deadline !== undefined) out.writeDeadlineMs = raw.write_deadline;
  if (raw.ping_interval !== undefined) out.pingIntervalMs = raw.ping_interval;
  return out;
}

/** checkLimits: a message must fit in what a client may have pending (nats-server refuses to start otherwise). */
function checkLimits(config: UnibusConfig): ConfigIssue[] {
  const l = config.limits;
  const payload = l.maxPayload ?? LIMIT_DEFAULTS.maxPayload;
  const pending = l.maxPending ?? LIMIT_DEFAULTS.maxPending;
  if (payload <= pending) return [];
  const key = l.maxPayload !== undefined ? "max_payload" : "max_pending";
  return [{ path: ["limits", key], message: `expected max_payload (${human(payload)}) at most max_pending (${human(pending)}${l.maxPending === undefined ? ", nats's default" : ""}): a client must be able to hold one whole message` }];
}

/** renderLimits is the nats-server top-level limit keys that the file sets. */
function renderLimits(config: UnibusConfig): Record<string, unknown> {
  const l = config.limits;
  return {
    ...(l.maxPayload !== undefined ? { max_payload: l.maxPayload } : {}),
    ...(l.maxPending !== undefined ? { max_pending: l.maxPending } : {}),
    ...(l.maxConnections !== undefined ? { max_connections: l.maxConnections } : {}),
    ...(l.maxControlLine !== undefined ? { max_control_line: l.maxControlLine } : {}),
    ...(l.writeDeadlineMs !== undefined ? { write_deadline: `${l.writeDeadlineMs}ms` } : {}),
    ...pingKeys(config),
  };
}

/** pingKeys renders ping_interval: the [limits] one, or the leaf keep-alive's or the gateway's when shorter (leafPingSettings, gatewayPingSettings). */
function pingKeys(config: UnibusConfig): Record<string, unknown> {
  const l = config.limits;
  const limit = l.pingIntervalMs ?? LIMIT_DEFAULTS.pingIntervalMs;
  const leaf = leafPingSettings(config, limit);
  const gateway = gatewayPingSettings(config, limit);
  const ping = leaf && gateway ? (leaf.pingIntervalMs <= gateway.pingIntervalMs ? leaf : gateway) : leaf ?? gateway;
  if (ping) return { ping_interval: `${ping.pingIntervalMs}ms`, ping_max: ping.pingMax };
  return l.pingIntervalMs !== undefined ? { ping_interval: `${l.pingIntervalMs}ms` } : {};
}

/** limitsRestartOnlyChange names a restart-only [limits] key whose value changed (nats-server cannot change max_pending live), or undefined. */
function limitsRestartOnlyChange(current: UnibusConfig, next: UnibusConfig): string | undefined {
  if (current.limits.maxPending !== next.limits.maxPending) return "limits.max_pending";
  return undefined;
}

/** effectiveLimits is the [limits] table for `config check`, every key with its effective value. */
function effectiveLimits(config: UnibusConfig): Record<string, unknown> {
  const l = config.limits;
  return {
    max_payload: l.maxPayload ?? LIMIT_DEFAULTS.maxPayload,
    max_pending: l.maxPending ?? LIMIT_DEFAULTS.maxPending,
    max_connections: l.maxConnections ?? LIMIT_DEFAULTS.maxConnections,
    max_control_line: l.maxControlLine ?? LIMIT_DEFAULTS.maxControlLine,
    write_deadline: ms(l.writeDeadlineMs ?? LIMIT_DEFAULTS.writeDeadlineMs).replace(/"/g, ""),
    ping_interval: ms(l.pingIntervalMs ?? LIMIT_DEFAULTS.pingIntervalMs).replace(/"/g, ""),
  };
}

/** limitsSection is the [limits] table. */
export const limitsSection = {
  key: "limits",
  schema: () => limitsTable.optional().transform(resolveLimits),
  checks: checkLimits,
  listeners: noListeners,
  secrets: noSecrets,
  sans: noSans,
  render: renderLimits,
  effective: effectiveLimits,
  restartOnly: limitsRestartOnlyChange,
} satisfies Section<"limits", LimitsConfig>;
