/**
 * edges.ts is the control channel's edges group, on a hub node that enrolls
 * edges: GET /edges lists the enrolled edges from the node's own registry
 * (what its nats-server lets sign in), and POST /edges/remove shuts one edge
 * out: the node asks a CA holder to record the remove, merges the answer
 * into its registry and re-renders its sign-ins at once, instead of the CLI
 * writing edges.json beside a running node that keeps its own copy in memory.
 */
import type { UnibusConfig } from "../config/load.ts";
import { ConfigError, RuntimeError, UsageError } from "../errors.ts";
import type { EdgeRecord } from "../membership/edges.ts";
import { askCaHolder } from "../membership/retire.ts";
import { controlRequest, isControlError, type ControlAnswer } from "./client.ts";
import { raise, type ControlRoutes } from "./route.ts";

/** EdgesAnswer is the hub node's enrolled edges, removed ones included, by name. */
export interface EdgesAnswer { edges: EdgeRecord[] }

/** EdgeRemoveAnswer names the edge removed and whether this node's registry changed with it. */
export interface EdgeRemoveAnswer { name: string; changed: boolean }

/** hubRefusal says why a config is no hub that enrolls edges, or undefined when it is one. */
export function hubRefusal(config: UnibusConfig): string | undefined {
  if (config.cluster && config.tls && config.leafnodes?.listen && config.leafnodes.enroll) return undefined;
  // A box that joined a hub does not take [leafnodes] over: it is a member, but no hub node for edges until edited.
  const member = config.cluster && config.tls ? " (a member that joined later does not take [leafnodes] over: run this on a hub node that has it, or add it here and restart unibus)" : "";
  return `${config.file} is not a hub node that enrolls edges: it needs [cluster], [tls] and [leafnodes] listen with enroll = true${member}`;
}

/** edgesRoutes serves GET /edges and POST /edges/remove. */
export const edgesRoutes: ControlRoutes = {
  group: "edges",
  mount(app, ctx) {
    const hub = () => {
      const refusal = hubRefusal(ctx.config());
      if (refusal) throw new ConfigError(refusal);
      const edges = ctx.edges?.();
      if (!edges) throw new ConfigError(`this node keeps no list of enrolled edges (it is not a member of a hub cluster yet)`);
      return edges;
    };
    app.get("/edges", (c) => {
      const answer: EdgesAnswer = { edges: hub().registry.all() };
      return c.json(answer);
    });
    app.post("/edges/remove", async (c) => {
      const req = (await c.req.json().catch(() => ({}))) as { name?: unknown };
      if (typeof req.name !== "string" || !req.name) throw new UsageError('expected a JSON body {"name": "EDGE"}');
      const edges = hub();
      const { reply, errors } = await askCaHolder(ctx.config(), { op: "edge-remove", name: req.name });
      if (!reply) throw new RuntimeError(`no CA holder removed edge "${req.name}": ${errors.join("; ") || "none known"}`);
      const changed = Array.isArray(reply.edges) && edges.registry.merge(reply.edges);
      if (changed) {
        edges.registry.save();
        edges.changed();
      }
      ctx.log.info("removed an edge", { edge: req.name });
      const answer: EdgeRemoveAnswer = { name: req.name, changed };
      return c.json(answer);
    });
  },
};

/** requestEdges asks the running hub node for its enrolled edges; "not reached" when no node answers. */
export async function requestEdges(dataDir: string): Promise<{ reached: true; answer: EdgesAnswer } | Extract<ControlAnswer<never>, { reached: false }>> {
  const answer = await controlRequest<EdgesAnswer>(dataDir, "GET", "/edges");
  if (!answer.reached) return answer;
  if (isControlError(answer.body)) raise(answer.body);
  return { reached: true, answer: answer.body };
}

/** requestEdgeRemove asks the running hub node to shut one edge out; refusals are rethrown as the node's error class. */
export async function requestEdgeRemove(dataDir: string, name: string): Promise<{ reached: true; answer: EdgeRemoveAnswer } | Extract<ControlAnswer<never>, { reached: false }>> {
  const answer = await controlRequest<EdgeRemoveAnswer>(dataDir, "POST", "/edges/remove", { name }, 60_000);
  if (!answer.reached) return answer;
  if (isControlError(answer.body)) raise(answer.body);
  return { reached: true, answer: answer.body };
}
