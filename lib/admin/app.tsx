/**
 * app.tsx is the admin web app (Hono): the dashboard page, the login form,
 * the JSON API, /metrics, and the unauthenticated probes /healthz and
 * /readyz. Secure headers with a nonce-based CSP, CSRF checks on state
 * changes, a token on everything else, and a last pass that removes any
 * registered secret from every response body.
 */
import { Hono, type Context } from "hono";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { NONCE, secureHeaders } from "hono/secure-headers";
import type { JSX } from "hono/jsx/jsx-runtime";
import { effectiveConfigToml } from "../config/effective.ts";
import { apiRoutes } from "./api.ts";
import { endSession, FAILED_LOGIN_DELAY_MS, requireToken, safeEqual, startSession } from "./auth.ts";
import { renderMetrics } from "./metrics.ts";
import type { Survey } from "./metrics-surveyor.ts";
import type { Versions } from "./model.ts";
import { DashBody, Dashboard } from "./pages/dashboard.tsx";
import { LoginPage } from "./pages/login.tsx";
import type { AdminSource } from "./source.ts";

/** AdminAppOptions are what the app is built from. */
export interface AdminAppOptions {
  source: AdminSource;
  token: string;
  versions: Versions;
  /** onError reports an unexpected failure (the response only says "internal error"). */
  onError?: (err: Error, path: string) => void;
  /** survey is every server's statsz over the system account, for surveyor's families in /metrics. */
  survey?: () => Promise<Survey>;
}

/** LOG_LINES_ON_PAGE is how many log lines the dashboard shows. */
export const LOG_LINES_ON_PAGE = 60;

const TEXTUAL = /^(text\/|application\/json)/;

function nonceOf(c: Context): string {
  return (c.get("secureHeadersNonce" as never) as string | undefined) ?? "";
}

async function page(c: Context, element: JSX.Element, status: 200 | 401 = 200): Promise<Response> {
  const html = await Promise.resolve(element.toString());
  return c.html(`<!doctype html>${html}`, status);
}

/** createAdminApp builds the Hono app; serve it with runtime.serveHttp or call app.request in tests. */
export function createAdminApp(o: AdminAppOptions): Hono {
  const { source, token } = o;
  const app = new Hono();

  // Last on the way out: no registered secret leaves in a body.
  app.use(async (c, next) => {
    await next();
    const type = c.res.headers.get("content-type") ?? "";
    if (!TEXTUAL.test(type) || !c.res.body) return;
    const body = await c.res.text();
    const clean = source.redact(body);
    c.res = new Response(clean, { status: c.res.status, headers: c.res.headers });
  });
  app.use(secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: [NONCE],
      styleSrc: [NONCE],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
    strictTransportSecurity: false,
    xFrameOptions: "DENY",
  }));
  app.use(csrf());
  app.use(async (c, next) => {
    await next();
    c.header("Cache-Control", "no-store");
  });
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse(); // e.g. the CSRF check's 403
    o.onError?.(err, c.req.path);
    return c.json({ error: "internal error; see the unibus log" }, 500);
  });
  app.notFound((c) => c.json({ error: `not found: ${c.req.path}` }, 404));

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const r = await source.readiness(); // public: never the dashboard's heavier work
    const failed = r.checks.filter((x) => !x.ok).map((x) => `${x.name}: ${x.detail}`);
    return c.json({ ready: r.ready, ...(failed.length ? { reason: failed.join("; ") } : {}), checks: r.checks }, r.ready ? 200 : 503);
  });

  app.use(requireToken(token));

  app.get("/login", (c) => page(c, <LoginPage nonce={nonceOf(c)} nodeName={source.config().node.name} />));
  app.post("/login", async (c) => {
    const form = await c.req.parseBody();
    const given = typeof form.token === "string" ? form.token.trim() : "";
    if (given && safeEqual(given, token)) {
      startSession(c, token);
      return c.redirect("/", 303);
    }
    await new Promise((r) => setTimeout(r, FAILED_LOGIN_DELAY_MS));
    return page(c, <LoginPage nonce={nonceOf(c)} nodeName={source.config().node.name} error="Wrong token." />, 401);
  });
  app.post("/logout", (c) => {
    endSession(c);
    return c.redirect("/login", 303);
  });

  app.get("/", async (c) => {
    const props = { nonce: nonceOf(c), overview: await source.overview(), configToml: effectiveConfigToml(source.config()), logs: source.logs().slice(-LOG_LINES_ON_PAGE) };
    if (c.req.query("part") === "dash") return c.html(await Promise.resolve((<DashBody {...props} />).toString()));
    return page(c, <Dashboard {...props} />);
  });
  app.route("/api", apiRoutes(source));
  app.get("/metrics", async (c) => {
    const [snapshot, overview, survey] = await Promise.all([source.snapshot(), source.overview(), o.survey?.()]);
    return c.body(renderMetrics(snapshot, overview, o.versions, survey), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  return app;
}
