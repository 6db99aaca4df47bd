/**
 * status.ts is the control channel's status group: GET /status answers with
 * the node's current status (its one health engine, lib/diagnosis/engine.ts,
 * whose assessment systemd's Status= line and the page read too), so `unibus status` asks the node instead of
 * repeating its monitoring requests and file reads.
 */
import type { ClusterStatus } from "../cluster/status.ts";
import { RuntimeError, UsageError } from "../errors.ts";
import { controlRequest, isControlError, type ControlAnswer } from "./client.ts";
import type { ControlRoutes } from "./route.ts";

/**
 * statusRoutes serves GET /status[?max_age_ms=N]: the node's status from a
 * monitoring snapshot at most N ms old (default: the engine's shared one);
 * 0 asks for a snapshot begun after the request.
 */
export const statusRoutes: ControlRoutes = {
  group: "status",
  mount(app, ctx) {
    app.get("/status", async (c) => {
      const text = c.req.query("max_age_ms");
      const maxAgeMs = text === undefined ? undefined : Number(text);
      if (maxAgeMs !== undefined && !(Number.isInteger(maxAgeMs) && maxAgeMs >= 0)) throw new UsageError(`max_age_ms ${JSON.stringify(text)} is invalid: expected a whole number of milliseconds >= 0`);
      return c.json(await ctx.status(maxAgeMs));
    });
  },
};

/**
 * requestStatus asks the running node for its status, from a snapshot at
 * most maxAgeMs old (undefined: the engine's shared one); "not reached"
 * when no node answers on the socket.
 */
export async function requestStatus(dataDir: string, maxAgeMs?: number, timeoutMs?: number): Promise<{ reached: true; status: ClusterStatus } | Extract<ControlAnswer<never>, { reached: false }>> {
  const answer = await controlRequest<ClusterStatus>(dataDir, "GET", maxAgeMs === undefined ? "/status" : `/status?max_age_ms=${maxAgeMs}`, undefined, timeoutMs);
  if (!answer.reached) return answer;
  if (isControlError(answer.body)) throw new RuntimeError(`the running node could not say its status: ${answer.body.error}`);
  return { reached: true, status: answer.body };
}
