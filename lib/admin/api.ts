/**
 * api.ts is the JSON API under /api/: the same facts as the page, as data,
 * for scripts and other tools. Every body passes the app's redaction like
 * the page does.
 */
import { Hono } from "hono";
import { effectiveConfigObject, effectiveConfigToml } from "../config/effective.ts";
import { OVERVIEW_PANELS } from "./panels.ts";
import type { AdminSource } from "./source.ts";

/** apiRoutes builds the /api sub-app. */
export function apiRoutes(source: AdminSource): Hono {
  const api = new Hono();
  api.get("/overview", async (c) => c.json(await source.overview()));
  // The diagnosis alone, without the overview's disk walk.
  api.get("/health", async (c) => c.json(await source.health()));
  // Every other overview panel's view under its id (lib/admin/panels.ts).
  for (const p of OVERVIEW_PANELS) {
    if (p.id !== "health") api.get(`/${p.id}`, async (c) => c.json((await source.overview() as unknown as Record<string, unknown>)[p.id]));
  }
  api.get("/readiness", async (c) => c.json((await source.overview()).readiness));
  api.get("/config", (c) => {
    const config = source.config();
    return c.json({ file: config.file, toml: effectiveConfigToml(config), config: effectiveConfigObject(config) });
  });
  api.get("/logs", (c) => {
    const n = Number(c.req.query("lines") ?? "100");
    return c.json({ lines: source.logs().slice(-Math.max(1, Math.min(Number.isFinite(n) ? n : 100, 1000))) });
  });
  api.notFound((c) => c.json({ error: `no such API endpoint: ${c.req.path}` }, 404));
  return api;
}
