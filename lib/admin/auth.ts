/**
 * auth.ts guards the admin app: every path but /healthz and /readyz needs the
 * admin token, as `Authorization: Bearer <token>` (API, Prometheus) or as the
 * session cookie set by the login form (browser). The cookie holds an HMAC of
 * the token, not the token, so it changes when the token does. Comparisons
 * are timing-safe.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";

/** SESSION_COOKIE names the browser's login cookie. */
const SESSION_COOKIE = "unibus_session";
/** SESSION_MAX_AGE_S keeps a browser logged in for a week. */
export const SESSION_MAX_AGE_S = 7 * 24 * 3600;
/** PUBLIC_PATHS answer without a token: probes for load balancers and systemd. */
const PUBLIC_PATHS = new Set(["/healthz", "/readyz"]);
/** LOGIN_PATHS are reachable without a session so a browser can log in. */
const LOGIN_PATHS = new Set(["/login"]);
/** FAILED_LOGIN_DELAY_MS slows down guessing through the form. */
export const FAILED_LOGIN_DELAY_MS = 300;

/** safeEqual compares two strings in time independent of where they differ. */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/**
 * sessionValue is the login cookie: when it was issued, and an HMAC of that
 * time keyed by the token. The server checks the age itself, so a copied
 * cookie stops working after SESSION_MAX_AGE_S (and at once when the token
 * changes), whatever the browser does with Max-Age.
 */
export function sessionValue(token: string, issuedAtS = Math.floor(Date.now() / 1000)): string {
  return `${issuedAtS}.${createHmac("sha256", token).update(`unibus admin session v2|${issuedAtS}`).digest("base64url")}`;
}

/** validSession checks a cookie's MAC and age. */
function validSession(cookie: string, token: string, nowS = Math.floor(Date.now() / 1000)): boolean {
  const m = /^(\d{1,12})\.[A-Za-z0-9_-]+$/.exec(cookie);
  if (!m) return false;
  const issuedAtS = Number(m[1]);
  const age = nowS - issuedAtS;
  if (age > SESSION_MAX_AGE_S || age < -60) return false;
  return safeEqual(cookie, sessionValue(token, issuedAtS));
}

function bearer(c: Context): string | undefined {
  const h = c.req.header("authorization");
  const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m?.[1];
}

/** isAuthorized tells whether a request carries the token or a valid session cookie. */
function isAuthorized(c: Context, token: string): boolean {
  const b = bearer(c);
  if (b !== undefined) return safeEqual(b, token);
  const cookie = getCookie(c, SESSION_COOKIE);
  return cookie !== undefined && validSession(cookie, token);
}

function wantsHtml(c: Context): boolean {
  const path = c.req.path;
  if (path.startsWith("/api/") || path === "/metrics") return false;
  return c.req.method === "GET" && (c.req.header("accept") ?? "").includes("text/html");
}

/** requireToken is the middleware: pages redirect to /login, everything else answers 401. */
export function requireToken(token: string): MiddlewareHandler {
  return async (c, next) => {
    if (PUBLIC_PATHS.has(c.req.path) || LOGIN_PATHS.has(c.req.path)) return next();
    if (isAuthorized(c, token)) return next();
    if (wantsHtml(c)) return c.redirect("/login", 303);
    c.header("WWW-Authenticate", 'Bearer realm="unibus admin"');
    return c.json({ error: "unauthorized: send Authorization: Bearer <admin token>, or log in at /login" }, 401);
  };
}

/** startSession sets the HttpOnly, SameSite=Strict login cookie. */
export function startSession(c: Context, token: string): void {
  setCookie(c, SESSION_COOKIE, sessionValue(token), {
    httpOnly: true,
    sameSite: "Strict",
    path: "/",
    maxAge: SESSION_MAX_AGE_S,
    secure: new URL(c.req.url).protocol === "https:",
  });
}

/** endSession removes the login cookie. */
export function endSession(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/" });
}
