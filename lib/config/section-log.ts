/**
 * section-log.ts is the [log] table: level and format of unibus's own log
 * (nats-server's lines are relayed through it). Both apply on SIGHUP.
 */
import { z } from "zod";
import { LOG_LEVELS } from "../log.ts";
import { DEFAULTS } from "./defaults.ts";
import { noChecks, noListeners, noSans, noSecrets, type Section } from "./section.ts";
import type { LogConfig } from "./config-types.ts";
export type { LogConfig } from "./config-types.ts";

const schema = () => z.strictObject({
  level: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.map((l) => `"${l}"`).join(", ")}` }).default(DEFAULTS.logLevel),
  format: z.enum(["auto", "text", "json"], { error: 'expected "auto", "text" or "json"' }).default(DEFAULTS.logFormat),
}).prefault({});


/** logSection is the [log] table. */
export const logSection = {
  key: "log",
  schema,
  checks: noChecks,
  listeners: noListeners,
  secrets: noSecrets,
  sans: noSans,
  // unibus adds its own timestamps when it relays nats-server's log lines.
  render: ({ log }) => ({ logtime: false, debug: log.level === "debug" }),
  effective: ({ log }) => ({ level: log.level, format: log.format }),
  restartOnly: () => undefined,
} satisfies Section<"log", LogConfig>;
