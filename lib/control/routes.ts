/**
 * routes.ts is the control channel's one list of route groups and the app
 * built from it. The control channel is how the CLI asks the running node
 * (`unibus reload`, `unibus status`, …) instead of signalling it and reading
 * files it left: a Hono app on the unix socket `<data_dir>/control.sock`,
 * which the node opens after it holds the data dir's lock and closes when it
 * stops (lib/control/server.ts).
 *
 * The route contract:
 * - One module per route group in lib/control/ (reload.ts, status.ts, …)
 *   exports a `ControlRoutes` ({ group, mount }) and, beside it, the typed
 *   client functions the CLI calls (`requestReload`), so the request and
 *   answer types are written once. Adding a group is that module plus one
 *   line in CONTROL_ROUTES; a group that needs more of the node adds a field
 *   to ControlContext (route.ts) and its value in lib/node.ts.
 * - Paths start with the group: /<group> and /<group>/…. GET reads, POST
 *   acts, DELETE removes. Bodies are JSON both ways.
 * - 200 with the answer's JSON when done; 4xx `{ error, kind }` when the
 *   request was wrong (the text names what was expected), 5xx when the node
 *   failed. A route may simply throw: UsageError answers 400, ConfigError
 *   409, anything else 500 (route.ts refusal), and the client function
 *   rethrows it as the same class (route.ts raise), so the CLI's exit code
 *   does not depend on where the work ran. Never a secret in an answer unless the route exists to hand
 *   one out (a join token), and then only on this socket.
 * - Access is the socket's: it lives in the 0700 data dir and is 0600, so
 *   the service user and root reach it and nobody else; there is no token.
 * - The CLI falls back to files only where the node is down: a client
 *   function returns `{ reached: false }` and the command decides.
 */
import { Hono } from "hono";
import { backupRoutes } from "./backup.ts";
import { reloadRoutes } from "./reload.ts";
import { refusal, type ControlContext, type ControlRoutes } from "./route.ts";
import { membersRoutes } from "./members.ts";
import { statusRoutes } from "./status.ts";
import { usersRoutes } from "./users.ts";
import { caRoutes } from "./ca.ts";
import { edgesRoutes } from "./edges.ts";

/** CONTROL_ROUTES lists every route group the control channel serves. */
export const CONTROL_ROUTES: readonly ControlRoutes[] = [
  reloadRoutes,
  statusRoutes,
  membersRoutes,
  usersRoutes,
  caRoutes,
  backupRoutes,
  edgesRoutes,
];

/** createControlApp mounts every group on one app; an unknown path is a 404 naming the groups. */
export function createControlApp(ctx: ControlContext, routes: readonly ControlRoutes[] = CONTROL_ROUTES): Hono {
  const app = new Hono();
  for (const group of routes) group.mount(app, ctx);
  app.notFound((c) => c.json({ error: `no control route ${c.req.method} ${c.req.path}; groups: ${routes.map((r) => r.group).join(", ")}` }, 404));
  app.onError((err, c) => {
    const { status, body } = refusal(err, (t) => ctx.log.redact(t));
    if (status === 500) ctx.log.error("control request failed", { method: c.req.method, path: c.req.path, error: body.error });
    return c.json(body, status);
  });
  return app;
}
