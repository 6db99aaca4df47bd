/**
 * reload.ts is the control channel's reload group: POST /reload re-reads the
 * config file and answers with the outcome, the way `caddy reload` posts to
 * the running process. `unibus reload` (and systemd's ExecReload) call it;
 * SIGHUP still reloads too, for `kill -HUP` and older units.
 */
import type { ReloadOutcome } from "../reload-outcome.ts";
import { controlRequest, isControlError, type ControlAnswer } from "./client.ts";
import type { ControlRoutes } from "./route.ts";

/** reloadRoutes serves POST /reload. */
export const reloadRoutes: ControlRoutes = {
  group: "reload",
  mount(app, ctx) {
    app.post("/reload", async (c) => c.json(await ctx.reload()));
  },
};

/**
 * requestReload asks the node to reload and waits for the outcome (up to
 * timeoutMs); "not reached" when no node answers on the socket.
 */
export async function requestReload(dataDir: string, timeoutMs: number): Promise<{ reached: true; outcome: ReloadOutcome } | Extract<ControlAnswer<never>, { reached: false }>> {
  const answer = await controlRequest<ReloadOutcome>(dataDir, "POST", "/reload", undefined, timeoutMs);
  if (!answer.reached) return answer;
  if (isControlError(answer.body)) return { reached: true, outcome: { ok: false, message: answer.body.error, startedAt: Date.now(), finishedAt: Date.now(), config: "" } };
  return { reached: true, outcome: answer.body };
}
