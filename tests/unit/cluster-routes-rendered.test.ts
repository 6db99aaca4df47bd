/**
 * The routes a node gives nats-server: every other member, never its own
 * address beside them. nats-server sizes a fresh JetStream meta group by the
 * configured routes and, until its first leader, counts fresh servers' votes
 * only when all of that many voted; with a node's own address listed too, a
 * new three-node cluster with one box down or set up wrong never elected a
 * meta leader (lib/config/section-cluster.ts, renderedRoutes). A cluster of
 * one routes to itself: clustered JetStream will not start without a route.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfigText } from "../../lib/config/load.ts";
import { renderNatsConfig } from "../../lib/config/render.ts";
import { createCa, writeCaFiles } from "../../lib/pki/index.ts";
import { tempDir } from "../_helpers.ts";

const dir = tempDir("unibus-cluster-routes-");
afterAll(() => dir[Symbol.dispose]());
await writeCaFiles(join(dir.path, "certs"), await createCa({ name: "cluster routes test CA" }));
writeFileSync(join(dir.path, "cluster.secret"), "cluster-secret-0123456789abcdef\n");
chmodSync(join(dir.path, "cluster.secret"), 0o600);
const TLS = { certFile: "/tls/node.pem", keyFile: "/tls/node-key.pem", caFile: "/tls/ca.pem" };
const SYSTEM_KEY = (await import("@nats-io/nkeys")).createUser().getPublicKey();

/** routesOf renders pi-1's nats config for these peers and returns its route addresses. */
function routesOf(peers: string[]): string[] {
  const text = [
    "[node]", 'name = "pi-1"', "",
    "[cluster]", 'name = "homelab"', 'listen = "0.0.0.0:6222"', `peers = [${peers.map((p) => `"${p}"`).join(", ")}]`, 'advertise = "10.0.0.11:6222"', 'secret_file = "cluster.secret"', "",
    "[tls]", 'ca_cert = "certs/ca.pem"', 'ca_key = "certs/ca-key.pem"', "",
  ].join("\n");
  const config = parseConfigText(text, join(dir.path, "node.toml"), {}, { hostname: "pi-1", addresses: ["10.0.0.11"] });
  const rendered = renderNatsConfig(config, TLS, SYSTEM_KEY) as { cluster: { routes: string[] } };
  return rendered.cluster.routes.map((u) => u.replace(/^.*@/, "")).sort();
}

describe("the routes rendered for nats-server", () => {
  test("a member of three routes to the two others, never to itself", () => {
    expect(routesOf(["10.0.0.11:6222", "10.0.0.12:6222", "10.0.0.13:6222"])).toEqual(["10.0.0.12:6222", "10.0.0.13:6222"]);
  });

  test("a cluster of one routes to itself, so clustered JetStream starts", () => {
    expect(routesOf(["10.0.0.11:6222"])).toEqual(["10.0.0.11:6222"]);
  });
});
