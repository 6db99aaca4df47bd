/**
 * ca.ts is the control channel's ca group, on a node that holds the CA key:
 * GET /ca says which CA signs now and where a rotation stands, from the
 * node's CA authority (lib/membership/ca-authority.ts);
 * GET /ca?signs=FP&wait_ms=N waits until the CA with that fingerprint signs.
 * `unibus token create` pins the CA this way during a rotation, instead of
 * polling ca-rotation.json every second.
 */
import type { CaSigningView } from "../membership/ca-authority.ts";
import { ConfigError, UsageError } from "../errors.ts";
import { controlRequest, isControlError, type ControlAnswer } from "./client.ts";
import { raise, type ControlRoutes } from "./route.ts";

/** CaAnswer is the view, and whether the awaited CA signs (when one was named). */
export interface CaAnswer extends CaSigningView { signs?: boolean }

/** caRoutes serves GET /ca. */
export const caRoutes: ControlRoutes = {
  group: "ca",
  mount(app, ctx) {
    app.get("/ca", async (c) => {
      const authority = ctx.ca?.();
      if (!authority) throw new ConfigError(`this node does not hold the CA key ([tls] ca_key is not set in ${ctx.config().file})`);
      const fp = c.req.query("signs");
      if (fp === undefined) return c.json(await authority.view());
      if (!/^[0-9a-f]{64}$/.test(fp)) throw new UsageError(`signs ${JSON.stringify(fp)} is invalid: expected a SHA-256 fingerprint in 64 lower-case hex digits`);
      const waitMs = Number(c.req.query("wait_ms") ?? "0");
      if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > 300_000) throw new UsageError("wait_ms must be a whole number of milliseconds from 0 to 300000");
      const signs = await authority.whenSigning(fp, waitMs);
      const answer: CaAnswer = { ...(await authority.view()), signs };
      return c.json(answer);
    });
  },
};

/**
 * requestCaSigning asks the node which CA signs and, given fp, waits up to
 * waitMs for that CA to sign; "not reached" when no node answers.
 */
export async function requestCaSigning(dataDir: string, fp?: string, waitMs = 0): Promise<{ reached: true; answer: CaAnswer } | Extract<ControlAnswer<never>, { reached: false }>> {
  const path = fp ? `/ca?signs=${fp}&wait_ms=${waitMs}` : "/ca";
  const answer = await controlRequest<CaAnswer>(dataDir, "GET", path, undefined, waitMs + 15_000);
  if (!answer.reached) return answer;
  if (isControlError(answer.body)) raise(answer.body);
  return { reached: true, answer: answer.body };
}
