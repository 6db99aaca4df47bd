/**
 * status.ts is the control channel's status group: GET /status answers with
 * the node's current status (its one health engine, lib/diagnosis/engine.ts,
 * whose assessment systemd's Status= line and the page read too), so `unibus status` asks the node instead of
 * repeating its monitoring requests and file reads.
 */
import type { ClusterStatus } from "../cluster/status.ts";
import { RuntimeError } from "../errors.ts";
import { controlRequest, isControlError, type ControlAnswer } from "./client.ts";
import type { ControlRoutes } from "./route.ts";

/** statusRoutes serves GET /status. */
export const statusRoutes: ControlRoutes = {
  group: "status",
  mount(app, ctx) {
    app.get("/status", async (c) => c.json(await ctx.status()));
  },
};

/** requestStatus asks the running node for its status; "not reached" when no node answers on the socket. */
export async function requestStatus(dataDir: string, timeoutMs?: number): Promise<{ reached: true; status: ClusterStatus } | Extract<ControlAnswer<never>, { reached: false }>> {
  const answer = await controlRequest<ClusterStatus>(dataDir, "GET", "/status", undefined, timeoutMs);
  if (!answer.reached) return answer;
  if (isControlError(answer.body)) throw new RuntimeError(`the running node could not say its status: ${answer.body.error}`);
  return { reached: true, status: answer.body };
}
