/**
 * section-jetstream.ts is the [jetstream] table: persistence limits and how
 * often the store is synced to disk.
 */
import { z } from "zod";
import { DEFAULTS } from "./defaults.ts";
import { parsed } from "./_parsed.ts";
import { differs, noChecks, noListeners, noSans, noSecrets, type ResolveContext, type Section } from "./section.ts";
import { diskAwareMaxFile } from "../disk-room.ts";
import { DURATION_HINT, parseDuration, parseSize } from "./units.ts";
import { dataDirLayout } from "../data-dir.ts";
import type { JetstreamConfig, UnibusConfig } from "./config-types.ts";
export type { JetstreamConfig } from "./config-types.ts";
import { jetstreamDomain } from "./section-gateway.ts";

const size = parsed<number>(parseSize);

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

/**
 * Without max_file the limit is disk-aware: DEFAULTS.jetstreamMaxFile, or
 * three quarters of what the data dir's disk can hold when that is less
 * (lib/disk-room.ts), so a small SD card is never promised 8 GiB.
 */
const schema = (ctx: ResolveContext) => z.strictObject({
  enabled: z.boolean({ error: "expected true or false" }).default(DEFAULTS.jetstreamEnabled),
  max_memory: size.default(DEFAULTS.jetstreamMaxMemory),
  max_file: size.optional(),
  sync: syncPolicy.default(DEFAULTS.jetstreamSync),
}).prefault({}).transform((t) => ({
  enabled: t.enabled,
  maxMemory: t.max_memory,
  maxFile: t.max_file ?? diskAwareMaxFile(ctx.dataDir, parseSize(DEFAULTS.jetstreamMaxFile) as number),
  /** True when max_file was not written and came from the disk-aware default. */
  maxFileFromDisk: t.max_file === undefined,
  sync: t.sync,
}));


const syncText = (sync: "always" | number) => (sync === "always" ? "always" : `${sync}ms`);

/** renderedDomain is the `domain` key of the jetstream block: an independent site's name, or a store-and-forward edge's node name. */
function renderedDomain(config: UnibusConfig): { domain?: string } {
  const site = jetstreamDomain(config);
  if (site !== undefined) return { domain: site };
  return config.leafnodes?.storeAndForward.length ? { domain: config.node.name } : {};
}

/** jetstreamSection is the [jetstream] table. */
export const jetstreamSection = {
  key: "jetstream",
  schema,
  checks: noChecks,
  listeners: noListeners,
  secrets: noSecrets,
  sans: noSans,
  // An edge that stores and forwards runs JetStream in its own domain (its name), so the hub can source from it (lib/fleet/store-and-forward.ts);
  // an independent site ([gateway] site) in the site's name, so a WAN cut leaves it a JetStream of its own.
  render: (config) => config.jetstream.enabled ? {
    jetstream: { ...renderedDomain(config), store_dir: dataDirLayout(config.node.dataDir).storeDir, max_memory_store: config.jetstream.maxMemory, max_file_store: config.jetstream.maxFile, sync_interval: syncText(config.jetstream.sync) },
  } : {},
  effective: ({ jetstream }) => ({ enabled: jetstream.enabled, max_memory: jetstream.maxMemory, max_file: jetstream.maxFile, sync: syncText(jetstream.sync) }),
  // nats-server keeps its sync policy from the start (reload.go refuses SyncInterval/SyncAlways).
  restartOnly: (a, b) => (a.jetstream.enabled && b.jetstream.enabled ? differs("jetstream.sync", a.jetstream.sync, b.jetstream.sync) : undefined),
} satisfies Section<"jetstream", JetstreamConfig>;
