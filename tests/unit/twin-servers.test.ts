/**
 * A copied disk (a cloned SD card, a copied /var/lib/unibus) brings up a
 * second server under a member's name. nats refuses one of the two routes on
 * most nodes, but a node that took both shows them side by side in /routez,
 * and that node said HEALTHY. The diagnosis must name the twin and the fix
 * (a fresh join under its own name), from routez as nats reports it.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { loadConfig } from "../../lib/config/load.ts";
import type { UnibusConfig } from "../../lib/config/sections.ts";
import { assess } from "../../lib/diagnosis/assess.ts";
import type { Snapshot } from "../../lib/natsd/snapshot.ts";
import { runUnibus, tempDir } from "../_helpers.ts";

const dir = tempDir("unibus-twins-");
let config: UnibusConfig;

beforeAll(async () => {
  const made = await runUnibus(["init", "cluster", "--name", "lab", "--node", "a=10.9.0.1", "--node", "b=10.9.0.2", "--node", "c=10.9.0.3", "--out", join(dir.path, "lab")]);
  expect(made.code).toBe(0);
  config = loadConfig(join(dir.path, "lab", "a.toml"));
});

function snapshot(routes: { remote_name: string; remote_id: string; ip: string; port: number; did_solicit: boolean }[]): Snapshot {
  const ok = <T>(data: T) => ({ ok: true as const, data });
  return {
    at: Date.now(),
    healthz: { ok: true, detail: "ok" },
    metaHealthz: { ok: true, detail: "ok" },
    varz: ok({ server_name: "a", server_id: "NA", cluster: { name: "lab" } } as never),
    connz: ok({ connections: [] } as never),
    routez: ok({ routes } as never),
    jsz: ok({ meta_cluster: { name: "lab", leader: "a", cluster_size: 3, replicas: [{ name: "b", current: true, offline: false }, { name: "c", current: true, offline: false }] } } as never),
    leafz: ok({ leafs: [] } as never),
  };
}

describe("two servers under one member's name", () => {
  test("routes from two server ids named b: a duplicate_node_name problem naming b, both addresses and a fresh join", async () => {
    const { diagnosis } = await assess(config, snapshot([
      { remote_name: "b", remote_id: "NB1", ip: "10.9.0.2", port: 6222, did_solicit: true },
      { remote_name: "b", remote_id: "NB2", ip: "10.9.0.4", port: 41234, did_solicit: false },
      { remote_name: "c", remote_id: "NC", ip: "10.9.0.3", port: 6222, did_solicit: true },
    ]), { events: [] });
    const twin = diagnosis.problems.find((p) => p.kind === "duplicate_node_name");
    expect(twin).toBeDefined();
    expect(twin!.node).toBe("b");
    expect(twin!.cause).toContain('two servers both call themselves "b" (routes from 10.9.0.2:6222 and 10.9.0.4:41234)');
    expect(twin!.fix).toContain("--name NEW-NAME");
    expect(twin!.fix).toContain("token create");
    expect(diagnosis.verdict).not.toBe("healthy");
  });

  test("two routes to the same server (one server id) are not a twin", async () => {
    const { diagnosis } = await assess(config, snapshot([
      { remote_name: "b", remote_id: "NB1", ip: "10.9.0.2", port: 6222, did_solicit: true },
      { remote_name: "b", remote_id: "NB1", ip: "10.9.0.2", port: 40000, did_solicit: false },
      { remote_name: "c", remote_id: "NC", ip: "10.9.0.3", port: 6222, did_solicit: true },
    ]), { events: [] });
    expect(diagnosis.problems.map((p) => p.kind)).not.toContain("duplicate_node_name");
  });
});
