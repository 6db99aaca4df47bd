/**
 * schema.ts is the typed shape of node.toml. Every table is strict: an unknown
 * key is an error, because a typo must never silently disable a setting.
 * Values arrive parsed (sizes in bytes, durations in ms, addresses split);
 * defaults are applied in load.ts from DEFAULTS.
 */
import { z } from "zod";
import { filePath, listenValue, parsed } from "./_parsed.ts";
import { adminSchema } from "./section-admin.ts";
import { clusterSchema } from "./section-cluster.ts";
import { clientAuthShape } from "./section-client-auth.ts";
import { mqttSchema, websocketSchema } from "./section-edge.ts";
import { leafnodesSchema } from "./section-leafnodes.ts";
import { systemAccountSchema } from "./section-system-account.ts";
import { limitsSchema } from "./section-limits.ts";
import { clientAdvertiseValue } from "./section-discovery.ts";
import { LOG_LEVELS } from "../log.ts";
import {
  DURATION_HINT, NODE_NAME_HINT, isValidNodeName, parseDuration, parseSize,
} from "./units.ts";

const listen = listenValue;
const size = parsed<number>(parseSize);
const duration = parsed<number>(parseDuration);
const path = filePath;

/** syncPolicy is "always" (fsync before every ack) or a flush interval. */
const syncPolicy = z.unknown().transform((value, ctx): "always" | number => {
  if (value === "always") return "always";
  const ms = parseDuration(value);
  if (typeof ms === "string") {
    ctx.addIssue({ code: "custom", message: `expected "always" or ${DURATION_HINT}, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return ms;
});

/** configSchema validates the whole file; its output is RawConfig. */
export const configSchema = z.strictObject({
  node: z.strictObject({
    name: z.string({ error: "expected a string" }).refine(isValidNodeName, { message: `expected ${NODE_NAME_HINT}` }).optional(),
    data_dir: path.optional(),
    lame_duck_duration: duration.refine((ms) => ms >= 30_000, { message: 'expected at least "30s" (nats-server\'s minimum lame-duck duration)' }).optional(),
  }).optional(),
  client: z.strictObject({
    listen: listen.optional(),
    advertise: clientAdvertiseValue.optional(),
    ...clientAuthShape,
  }).optional(),
  monitor: z.strictObject({
    listen: listen.optional(),
  }).optional(),
  jetstream: z.strictObject({
    enabled: z.boolean({ error: "expected true or false" }).optional(),
    max_memory: size.optional(),
    max_file: size.optional(),
    sync: syncPolicy.optional(),
  }).optional(),
  log: z.strictObject({
    level: z.enum(LOG_LEVELS as [string, ...string[]], { error: `expected one of ${LOG_LEVELS.map((l) => `"${l}"`).join(", ")}` }).optional(),
    format: z.enum(["auto", "text", "json"], { error: 'expected "auto", "text" or "json"' }).optional(),
  }).optional(),
  tls: z.strictObject({
    ca_cert: path,
    ca_key: path.optional(),
    cert: path.optional(),
    key: path.optional(),
    sans: z.array(z.string({ error: "expected a host name or IP address" }).min(1)).optional(),
    client_tls: z.boolean({ error: "expected true or false" }).optional(),
    lifetime_days: z.number({ error: "expected a number of days" }).int().min(2).max(3650).optional(),
  }).optional(),
  admin: adminSchema.optional(),
  cluster: clusterSchema.optional(),
  leafnodes: leafnodesSchema.optional(),
  mqtt: mqttSchema.optional(),
  websocket: websocketSchema.optional(),
  system_account: systemAccountSchema.optional(),
  limits: limitsSchema.optional(),
});

/** RawConfig is the validated file before defaults and path resolution. */
export type RawConfig = z.output<typeof configSchema>;
