/**
 * members.ts is the control channel's members group: POST /members/remove
 * takes another member out of the cluster (the JetStream meta group, then
 * the members list through a CA holder), done by the running node with its
 * own system-account credential and certificate, so `unibus remove` needs no
 * access to them.
 */
import { planRetire, recordRemoval, removeFromMeta } from "../membership/retire.ts";
import { UsageError } from "../errors.ts";
import { controlRequest, isControlError, type ControlAnswer } from "./client.ts";
import { raise, type ControlRoutes } from "./route.ts";

/** RemoveRequest names the member to remove; force removes it even when that costs the meta group its majority. */
export interface RemoveRequest { name: string; force?: boolean }

/** RemoveAnswer is what a removal did: the meta group's size after it and how long it took to settle (ms). */
export interface RemoveAnswer { name: string; cluster: string; inMeta: boolean; metaSize: number; settledMs: number }

/** membersRoutes serves POST /members/remove. */
export const membersRoutes: ControlRoutes = {
  group: "members",
  mount(app, ctx) {
    app.post("/members/remove", async (c) => {
      const req = (await c.req.json().catch(() => ({}))) as Partial<RemoveRequest>;
      if (typeof req.name !== "string" || !req.name) throw new UsageError('expected a JSON body {"name": "MEMBER"}');
      const config = ctx.config();
      if (!config.cluster || !config.tls) throw new UsageError(`${config.file} has no [cluster] and [tls]: there are no members to remove`);
      if (req.name === config.node.name) throw new UsageError(`"${req.name}" is this node: run \`unibus leave\` to take it out of the cluster`);
      const plan = await planRetire(config, req.name, { self: false, force: req.force === true });
      const settledMs = plan.inMeta ? await removeFromMeta(config, req.name, plan.meta) : 0;
      await recordRemoval(config, req.name);
      ctx.log.info("removed a member", { member: req.name });
      const answer: RemoveAnswer = { name: req.name, cluster: config.cluster.name, inMeta: plan.inMeta, metaSize: plan.inMeta ? plan.meta.size - 1 : plan.meta.size, settledMs };
      return c.json(answer);
    });
  },
};

/** requestRemove asks the running node to remove a member; refusals are rethrown as the node's error class. */
export async function requestRemove(dataDir: string, req: RemoveRequest): Promise<{ reached: true; answer: RemoveAnswer } | Extract<ControlAnswer<never>, { reached: false }>> {
  const answer = await controlRequest<RemoveAnswer>(dataDir, "POST", "/members/remove", req, 180_000);
  if (!answer.reached) return answer;
  if (isControlError(answer.body)) raise(answer.body);
  return { reached: true, answer: answer.body };
}
