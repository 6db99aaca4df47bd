/**
 * section-node.ts is the [node] table: the node's name (nats server_name,
 * its identity in every JetStream RAFT group), its data dir and the
 * lame-duck time on stop.
 */
import { resolve } from "node:path";
import { dirname } from "node:path";
import { z } from "zod";
import { DEFAULTS } from "./defaults.ts";
import { filePath, parsed } from "./_parsed.ts";
import { differs, noChecks, noListeners, noSans, noSecrets, type ResolveContext, type Section } from "./section.ts";
import { NODE_NAME_HINT, isValidNodeName, nodeNameFromHost, parseDuration } from "./units.ts";
import type { NodeConfig } from "./config-types.ts";
export type { NodeConfig } from "./config-types.ts";

const table = z.strictObject({
  name: z.string({ error: "expected a string" }).refine(isValidNodeName, { message: `expected ${NODE_NAME_HINT}` }).optional(),
  data_dir: filePath.optional(),
  lame_duck_duration: parsed<number>(parseDuration).refine((ms) => ms >= 30_000, { message: 'expected at least "30s" (nats-server\'s minimum lame-duck duration)' }).optional(),
});

/**
 * defaultDataDir is where a node keeps its data when [node] data_dir is not
 * set: $STATE_DIRECTORY under systemd, install.sh's data dir for a config in
 * its config dir, otherwise "data" beside the config file.
 */
function defaultDataDir(ctx: ResolveContext): string {
  const stateDir = ctx.env.STATE_DIRECTORY?.split(":")[0];
  if (stateDir) return resolve(stateDir);
  return dirname(ctx.file) === DEFAULTS.installedConfigDir ? DEFAULTS.installedDataDir : ctx.at(DEFAULTS.dataDir);
}

function schema(ctx: ResolveContext) {
  return table.optional().transform((raw) => ({
    name: raw?.name ?? nodeNameFromHost(ctx.host.hostname),
    dataDir: raw?.data_dir ? ctx.at(raw.data_dir) : defaultDataDir(ctx),
    ...(raw?.lame_duck_duration !== undefined ? { lameDuckMs: raw.lame_duck_duration } : {}),
  }));
}


/** nodeSection is the [node] table. */
export const nodeSection = {
  key: "node",
  schema,
  checks: noChecks,
  listeners: noListeners,
  secrets: noSecrets,
  sans: noSans,
  render: ({ node }) => ({
    server_name: node.name,
    ...(node.lameDuckMs !== undefined ? { lame_duck_duration: `${Math.round(node.lameDuckMs / 1000)}s`, lame_duck_grace_period: DEFAULTS.lameDuckGrace } : {}),
  }),
  effective: ({ node }) => ({
    name: node.name,
    data_dir: node.dataDir,
    ...(node.lameDuckMs !== undefined ? { lame_duck_duration: `${node.lameDuckMs / 1000}s` } : {}),
  }),
  // nats-server's server_name is fixed at start (reload.go refuses ServerName).
  restartOnly: (a, b) => differs("node.name", a.node.name, b.node.name) ?? differs("node.data_dir", a.node.dataDir, b.node.dataDir) ?? differs("node.lame_duck_duration", a.node.lameDuckMs, b.node.lameDuckMs),
} satisfies Section<"node", NodeConfig>;
