/**
 * section-log.ts is the [log] table: level and format of unibus's own log
 * (nats-server's lines are relayed through it). Both apply on SIGHUP.
 */
import { z } from "zod";
import { LOG_LEVELS } from "../log.ts";
import { DEFAULTS } from "./defaults.ts";
import { noChecks, noListeners, noSans, noSecrets, type Section } from "./section.ts";

const schema = () => z.strictObject({
  level: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.map((l) => `"${l}"`).join(", ")}` }).default(DEFAULTS.logLevel),
  format: z.enum(["auto", "text", "json"], { error: 'expected "auto", "text" or "json"' }).default(DEFAULTS.logFormat),
}).prefault({});

/** LogConfig is the effective [log] table. */
export type LogConfig = z.output<ReturnType<typeof schema>>;

/** logSection is the [log] table. */
export const logSection: Section<"log", LogConfig> = {
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
};
