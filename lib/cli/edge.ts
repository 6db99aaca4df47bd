/**
 * edge.ts implements `unibus edge list` and `unibus edge remove NAME` on a
 * hub node: the edges enrolled with `unibus join --edge`, and shutting one
 * out alone. A remove is recorded by a CA holder, reaches every hub node at
 * its next check-in (seconds), and each hub node then closes that edge's
 * leaf connection; every other edge keeps its own. Both ask the running node
 * over the control channel (lib/control/edges.ts); only a stopped node's
 * edges.json is read and written here.
 */
import { loadConfig, type UnibusConfig } from "../config/load.ts";
import { ConfigError, RuntimeError, UsageError } from "../errors.ts";
import { EdgeRegistry, type EdgeRecord } from "../membership/edges.ts";
import { askCaHolder } from "../membership/retire.ts";
import { configPath, parseCommand } from "./_flags.ts";
import { hubRefusal, requestEdgeRemove, requestEdges } from "../control/edges.ts";

/** hubConfig loads the config and insists it is a hub that enrolls edges. */
function hubConfig(file: string | undefined): UnibusConfig {
  const config = loadConfig(configPath(file));
  const refusal = hubRefusal(config);
  if (refusal) throw new ConfigError(refusal);
  return config;
}

/** list prints the enrolled edges this hub node knows. */
export async function list(args: string[]): Promise<number> {
  const { values } = parseCommand("edge list", args);
  const config = hubConfig(values.config);
  const asked = await requestEdges(config.node.dataDir);
  const edges = asked.reached ? asked.answer.edges : new EdgeRegistry(config.node.dataDir).all();
  if (values.json) {
    process.stdout.write(JSON.stringify(edges, null, 2) + "\n");
    return 0;
  }
  if (edges.length === 0) process.stdout.write("no enrolled edges (enroll one: unibus token create, then on the edge box: unibus join ADDR --token TOKEN --edge)\n");
  for (const e of edges) process.stdout.write(edgeListLine(e) + "\n");
  return 0;
}

/**
 * edgeListLine is one row of `unibus edge list`: a removed edge says when it
 * was removed (its record's last change) beside when it enrolled, not its
 * enrollment as "removed since"; an enrolled one names its home hub node.
 */
export function edgeListLine(e: EdgeRecord): string {
  const state = e.removed ? `removed   ${new Date(e.updatedAt).toISOString()} (enrolled ${e.enrolledAt})` : `enrolled  since ${e.enrolledAt}${e.home ? `  home ${e.home}` : ""}${e.fallback ? `  then ${e.fallback}` : ""}`;
  return `${e.name.padEnd(20)} ${state}${e.certNotAfter ? `  certificate until ${e.certNotAfter}` : ""}`;
}

/** remove shuts one enrolled edge out of the hub. */
export async function remove(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("edge remove", args);
  if (positionals.length !== 1) throw new UsageError("expected one NAME: the edge to remove (see: unibus edge list)");
  const name = positionals[0]!;
  const config = hubConfig(values.config);
  const asked = await requestEdgeRemove(config.node.dataDir, name);
  if (!asked.reached) {
    // The node is down: record the remove in its edges.json, which it reads when it starts.
    const { reply, errors } = await askCaHolder(config, { op: "edge-remove", name });
    if (!reply) throw new RuntimeError(`no CA holder removed edge "${name}": ${errors.join("; ") || "none known"}`);
    const registry = new EdgeRegistry(config.node.dataDir);
    if (Array.isArray(reply.edges) && registry.merge(reply.edges)) registry.save();
  }
  process.stdout.write(`removed edge "${name}": its key no longer signs in to any hub node; each hub node closes its uplink at its next check-in (within seconds). To enroll that box again: a new token, then unibus join ADDR --token TOKEN --edge --name ${name} --replace --force\n`);
  return 0;
}
