/**
 * The admin API and page of a real node (the compiled executable): every
 * path but /healthz and /readyz needs the admin token, the browser login sets
 * a strict cookie, cross-site form posts are refused, no response body
 * carries a secret, and the generated token is printed once only. The app is
 * also built in-process against the node's real nats monitoring port, and
 * against a port where nothing answers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { createAdminApp } from "../lib/admin/app.tsx";
import { SESSION_MAX_AGE_S, sessionValue } from "../lib/admin/auth.ts";
import { OVERVIEW_PANELS, PANELS } from "../lib/admin/panels.ts";
import { createAdminSource } from "../lib/admin/source.ts";
import { loadConfig } from "../lib/config/load.ts";
import { MonitorClient } from "../lib/natsd/monitor.ts";
import { RunningUnibus, freePort, tempDir, writeConfig } from "./_helpers.ts";

const dir = tempDir("unibus-admin-api-");
const client = await freePort();
const monitor = await freePort();
const adminPort = await freePort();
const PASSWORD = "pw-Kx81-never-shown";
const configFile = writeConfig(dir.path, `[node]
name = "admin-api"
data_dir = "data"
[client]
listen = "127.0.0.1:${client}"
[[client.users]]
user = "app"
password = "${PASSWORD}"
[monitor]
listen = "127.0.0.1:${monitor}"
[admin]
listen = "127.0.0.1:${adminPort}"
`);
const base = `http://127.0.0.1:${adminPort}`;
const tokenFile = join(dir.path, "data", "admin.token");
const versions = { unibus: "test", nats: "2.15.1", target: "linux-x64" };
let node: RunningUnibus;
let token = "";

const PROTECTED = ["/", "/api/overview", ...OVERVIEW_PANELS.map((p) => `/api/${p.id}`), "/api/readiness", "/api/config", "/api/logs", "/metrics"];

beforeAll(async () => {
  node = new RunningUnibus(["--config", configFile]);
  await node.ready();
  token = readFileSync(tokenFile, "utf8").trim();
  const nc = await connect({ servers: `127.0.0.1:${client}`, user: "app", pass: PASSWORD, name: "admin-test-client" });
  const kv = await new Kvm(nc).create("settings");
  await kv.put("colour", "blue");
  await nc.close();
});

afterAll(async () => {
  await node?.stop();
  dir[Symbol.dispose]();
});

function bodyHasNoSecret(body: string) {
  expect(body).not.toContain(token);
  expect(body).not.toContain(PASSWORD);
}

describe("admin API and auth on a running node", () => {
  test("the first start generates a 0600 token file; off a terminal the log says where it is, never the token", () => {
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    // stderr here is a pipe, as under journald: the token must not reach a lasting log
    expect(node.log).not.toContain(token);
    const line = node.log.split("\n").find((l) => l.includes("admin token generated"))!;
    expect(line).toContain("sudo cat ");
    expect(line).toContain(tokenFile);
    expect(line).toContain(`url=${base}/`);
  });

  test("/healthz and /readyz answer without a token", async () => {
    const h = await fetch(`${base}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ status: "ok" });
    const r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { ready: boolean }).ready).toBe(true);
  });

  test("HTTP/1.0 requests without a Host header reach the same paths (busybox wget, curl -0, old probes)", async () => {
    const raw = async (request: string): Promise<string> => {
      const { connect: tcp } = await import("node:net");
      return await new Promise<string>((resolve, reject) => {
        let data = "";
        const socket = tcp(adminPort, "127.0.0.1", () => socket.write(request));
        socket.on("data", (chunk) => { data += chunk.toString(); });
        socket.on("end", () => resolve(data));
        socket.on("error", reject);
        socket.setTimeout(10_000, () => { socket.destroy(); reject(new Error(`no answer to ${JSON.stringify(request)}`)); });
      });
    };
    const ready = await raw("GET /readyz HTTP/1.0\r\n\r\n");
    expect(ready.split("\r\n")[0]).toMatch(/^HTTP\/1\.[01] 200/);
    expect(ready).toContain('"ready":true');
    expect((await raw("GET /healthz?x=1 HTTP/1.0\r\n\r\n")).split("\r\n")[0]).toMatch(/ 200 /);
    const metrics = await raw(`GET /metrics HTTP/1.0\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    expect(metrics.split("\r\n")[0]).toMatch(/ 200 /);
    expect(metrics).toContain("unibus_health_verdict");
    expect((await raw("GET /api/overview HTTP/1.0\r\n\r\n")).split("\r\n")[0]).toMatch(/ 401 /);
  });

  test("without the token the API and metrics answer 401 and the page sends the browser to /login", async () => {
    for (const path of PROTECTED) {
      const res = await fetch(`${base}${path}`, { redirect: "manual", headers: path === "/" ? { accept: "text/html" } : {} });
      if (path === "/") {
        expect(res.status).toBe(303);
        expect(res.headers.get("location")).toBe("/login");
      } else {
        expect(res.status, path).toBe(401);
        expect(res.headers.get("www-authenticate")).toContain("Bearer");
      }
    }
    const wrong = await fetch(`${base}/api/node`, { headers: { authorization: `Bearer ${token.slice(0, -1)}x` } });
    expect(wrong.status).toBe(401);
  });

  test("with the token every path answers 200 and no body carries a secret", async () => {
    for (const path of [...PROTECTED, "/login", "/healthz", "/readyz"]) {
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status, path).toBe(200);
      bodyHasNoSecret(await res.text());
    }
    const overview = await (await fetch(`${base}/api/overview`, { headers: { authorization: `Bearer ${token}` } })).json() as {
      node: { name: string }; jetstream: { kv: { name: string; messages: number }[] }; readiness: { ready: boolean };
    };
    expect(overview.node.name).toBe("admin-api");
    expect(overview.jetstream.kv).toContainEqual(expect.objectContaining({ name: "settings", messages: 1 }));
    const logs = await (await fetch(`${base}/api/logs?lines=1000`, { headers: { authorization: `Bearer ${token}` } })).text();
    expect(logs).toContain("admin token generated");
    expect(logs).not.toContain(token);
    const cfg = await (await fetch(`${base}/api/config`, { headers: { authorization: `Bearer ${token}` } })).json() as { toml: string };
    expect(cfg.toml).toContain("[admin]");
    expect(cfg.toml).toContain("<redacted");
  });

  test("the page draws every panel of the registry, and /api/<id> serves each overview panel's view as /api/overview does", async () => {
    const get = async (path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const html = await (await get("/")).text();
    for (const p of PANELS) expect(html, p.id).toContain(`<section id="${p.id}"`);
    const overview = await (await get("/api/overview")).json() as Record<string, unknown>;
    for (const p of OVERVIEW_PANELS) {
      const view = await (await get(`/api/${p.id}`)).json() as Record<string, unknown>;
      expect(Object.keys(view).sort(), p.id).toEqual(Object.keys(overview[p.id] as object).sort());
    }
  });

  test("the login form sets an HttpOnly SameSite=Strict cookie; cross-site posts and wrong tokens are refused", async () => {
    const form = (t: string) => new URLSearchParams({ token: t });
    const cross = await fetch(`${base}/login`, { method: "POST", body: form(token), headers: { origin: "http://evil.example" }, redirect: "manual" });
    expect(cross.status).toBe(403);
    expect(cross.headers.get("set-cookie")).toBeNull();
    const wrong = await fetch(`${base}/login`, { method: "POST", body: form("not-the-token-at-all"), headers: { origin: base }, redirect: "manual" });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("Wrong token.");
    const ok = await fetch(`${base}/login`, { method: "POST", body: form(token), headers: { origin: base }, redirect: "manual" });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/");
    const cookie = ok.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^unibus_session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain(token);
    const page = await fetch(`${base}/`, { headers: { cookie: cookie.split(";")[0]! } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('id="node-name">admin-api<');
    bodyHasNoSecret(html);
    // The CSP nonce is the one on the inline script and style; nothing else may run.
    const csp = page.headers.get("content-security-policy")!;
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("default-src 'none'");
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(html).toContain(`<style nonce="${nonce}">`);
    const out = await fetch(`${base}/logout`, { method: "POST", headers: { origin: base, cookie: cookie.split(";")[0]!, "content-type": "application/x-www-form-urlencoded" }, redirect: "manual" });
    expect(out.status).toBe(303);
    expect(out.headers.get("set-cookie")).toMatch(/unibus_session=; Max-Age=0/);
  });

  test("app.request against the node's real nats monitor: 401 without the token, 200 with it", async () => {
    const source = createAdminSource({ monitor: new MonitorClient(`127.0.0.1:${monitor}`), config: () => loadConfig(configFile), versions });
    const app = createAdminApp({ source, token: "in-process-token-0123456789", versions });
    expect((await app.request("/api/jetstream")).status).toBe(401);
    const res = await app.request("/api/jetstream", { headers: { authorization: "Bearer in-process-token-0123456789" } });
    expect(res.status).toBe(200);
    const js = await res.json() as { kv: { name: string }[] };
    expect(js.kv.map((k) => k.name)).toContain("settings");
    const metrics = await app.request("/metrics", { headers: { authorization: "Bearer in-process-token-0123456789" } });
    expect(await metrics.text()).toContain('gnatsd_varz_server_name{server_id="');
  });

  test("a login cookie is honoured until it is older than the session lifetime, and never for another token", async () => {
    const token = "in-process-token-0123456789";
    const source = createAdminSource({ monitor: new MonitorClient(`127.0.0.1:${monitor}`), config: () => loadConfig(configFile), versions });
    const app = createAdminApp({ source, token, versions });
    const now = Math.floor(Date.now() / 1000);
    const withCookie = (value: string) => app.request("/api/jetstream", { headers: { cookie: `unibus_session=${value}` } });
    expect((await withCookie(sessionValue(token, now - 60))).status).toBe(200);
    expect((await withCookie(sessionValue(token, now - SESSION_MAX_AGE_S - 60))).status).toBe(401);
    expect((await withCookie(sessionValue("another-token-0123456789", now))).status).toBe(401);
    expect((await withCookie("garbage")).status).toBe(401);
  });

  test("a nats-server that does not answer is a clear state on the page and a 503 with the reason, never a stack trace", async () => {
    const dead = await freePort();
    const source = createAdminSource({ monitor: new MonitorClient(`127.0.0.1:${dead}`, 500), config: () => loadConfig(configFile), versions });
    const app = createAdminApp({ source, token: "in-process-token-0123456789", versions });
    const auth = { authorization: "Bearer in-process-token-0123456789" };
    const page = await app.request("/", { headers: auth });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`nats-server monitoring at http://127.0.0.1:${dead} is not reachable`);
    expect(html).toContain("not ready");
    expect(html).not.toMatch(/\n\s+at |Error:/);
    const ready = await app.request("/readyz");
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reason: string }).reason).toContain("nats: nats-server is not ready");
    expect((await app.request("/metrics", { headers: auth })).status).toBe(200);
  });

  test("a restart reuses the token file and never prints the token again", async () => {
    expect(await node.stop()).toBe(0);
    node = new RunningUnibus(["--config", configFile]);
    await node.ready();
    expect(node.log).not.toContain(token);
    expect(node.log).not.toContain("admin token generated");
    expect(node.log).toContain("admin page ready");
    expect(readFileSync(tokenFile, "utf8").trim()).toBe(token);
    expect((await fetch(`${base}/api/node`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });
});
