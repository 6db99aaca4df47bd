/**
 * The control channel's edges group answers from the hub node's own
 * registry of enrolled edges (what its nats-server lets sign in), and a node
 * that is no hub refuses both routes naming what its config lacks, as a
 * config error (409), so `unibus edge` exits as it did reading files.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createControlApp } from "../../lib/control/routes.ts";
import type { ControlContext } from "../../lib/control/route.ts";
import { EdgeRegistry } from "../../lib/membership/edges.ts";
import { loadConfig } from "../../lib/config/load.ts";
import { Logger } from "../../lib/log.ts";
import { nodeToml, tempDir, writeConfig } from "../_helpers.ts";

const dir = tempDir("unibus-control-edges-");
afterAll(() => dir[Symbol.dispose]());

/** app is the control app over a config and an edges registry; only config, log and edges are used. */
function app(extra: string, registry?: EdgeRegistry, changed = () => {}, hub = false) {
  const loaded = loadConfig(writeConfig(dir.path, nodeToml({ name: "hub", client: 14222, monitor: 18222, extra })), {});
  // The hub's sections as the config loader leaves them, without the CA and certificate files they name.
  const config = hub ? ({ ...loaded, cluster: { name: "c" }, tls: {}, leafnodes: { listen: { port: 7422, text: "0.0.0.0:7422" }, enroll: true } } as unknown as typeof loaded) : loaded;
  const ctx = {
    config: () => config,
    log: new Logger({ level: "error", format: "text", sink: () => {} }),
    edges: () => (registry ? { registry, changed } : undefined),
  } as unknown as ControlContext;
  return createControlApp(ctx);
}

test("GET /edges on a node that is no hub is a 409 naming what the config lacks", async () => {
  const res = await app("").request("/edges");
  expect(res.status).toBe(409);
  const body = (await res.json()) as { error: string; kind: string };
  expect(body.kind).toBe("config");
  expect(body.error).toContain("[leafnodes] listen with enroll = true");
});

test("POST /edges/remove without a name is a 400 saying what body was expected", async () => {
  const res = await app("").request("/edges/remove", { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: string }).error).toContain('{"name": "EDGE"}');
});

test("GET /edges on a hub answers with the node's own registry, removed edges included", async () => {
  const registry = new EdgeRegistry(join(dir.path, "data"));
  registry.put({ name: "shop-1", nkey: "UAAA", enrolledAt: "2026-12-01T00:00:00.000Z", updatedAt: 1 });
  registry.put({ name: "shop-2", nkey: "UBBB", enrolledAt: "2026-12-02T00:00:00.000Z", updatedAt: 2, removed: true });
  // Only in the node's memory: the answer must not come from edges.json.
  expect(existsSync(registry.file)).toBe(false);
  const res = await app("", registry, undefined, true).request("/edges");
  expect(res.status).toBe(200);
  const body = (await res.json()) as { edges: { name: string; removed?: boolean }[] };
  expect(body.edges.map((e) => [e.name, e.removed === true])).toEqual([["shop-1", false], ["shop-2", true]]);
});
