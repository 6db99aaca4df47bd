/**
 * `config check` says before start what will fail at run time, as warnings
 * (stderr, exit 0, the effective config still printed): a bcrypt hash where
 * an edge must send the secret itself, and a two-node cluster that stops
 * JetStream writes when either node is down. (A clustered node named after
 * its host, a leaf uplink without ca_file and max_file larger than the disk
 * are asserted in the health-* tests of those mistakes.)
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { hashPassword } from "../lib/auth/bcrypt.ts";
import { makeLoopbackCluster } from "./cluster-fixtures.ts";
import { freePort, nodeToml, runUnibus, tempDir, writeConfig } from "./_helpers.ts";

describe("config check warnings", () => {
  test("a leaf uplink secret that is a bcrypt hash", async () => {
    using dir = tempDir("unibus-check-hash-");
    writeFileSync(join(dir.path, "uplink.secret"), hashPassword("the-real-leaf-secret", 4), { mode: 0o600 });
    writeFileSync(join(dir.path, "ca.pem"), "");
    const config = writeConfig(dir.path, nodeToml({ name: "edge", client: await freePort(), monitor: await freePort(), extra: `[[leafnodes.remotes]]\nurl = "nats-leaf://hub.lan:7422"\nsecret_file = "uplink.secret"\nca_file = "ca.pem"\n` }));
    const res = await runUnibus(["config", "check", "--config", config]);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain(`warning: ${config}: leafnodes.remotes[0].secret_file: the secret for the leaf uplink nats-leaf://hub.lan:7422 (file ${join(dir.path, "uplink.secret")}) is a bcrypt hash, but an edge must send the secret itself`);
    expect(res.stdout).toContain("valid, with 1 warning");
    expect(res.stdout).toContain("leafnodes");
    expect(res.stderr + res.stdout).not.toContain("the-real-leaf-secret");
  });

  test("a cluster of two nodes", async () => {
    using dir = tempDir("unibus-check-two-");
    const cluster = await makeLoopbackCluster(dir.path, ["two-a", "two-b"]);
    const res = await runUnibus(["config", "check", "--config", cluster.nodes[0]!.config]);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain("cluster.peers: a cluster of 2 nodes stops JetStream writes when either node is down (a majority of 2 is 2)");
  });

  test("a sound config has no warning", async () => {
    using dir = tempDir("unibus-check-clean-");
    const cluster = await makeLoopbackCluster(dir.path, ["ok-a", "ok-b", "ok-c"]);
    const res = await runUnibus(["config", "check", "--config", cluster.nodes[0]!.config]);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe("");
    expect(res.stdout).toContain(": valid.");
  });

  test('sync = "always" (the default) is noted with what it costs on an SD card and what to do, not warned about', async () => {
    using dir = tempDir("unibus-check-sync-");
    const always = writeConfig(dir.path, nodeToml({ name: "sd", client: await freePort(), monitor: await freePort() }));
    const res = await runUnibus(["config", "check", "--config", always]);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe("");
    expect(res.stdout).toMatch(/^# note: jetstream\.sync: "always" \(the default\) fsyncs before every acknowledgement.*SD card.*USB SSD/m);
    const interval = writeConfig(dir.path, nodeToml({ name: "sd", client: await freePort(), monitor: await freePort(), extra: `[jetstream]\nsync = "2m"\n` }), "interval.toml");
    const res2 = await runUnibus(["config", "check", "--config", interval]);
    expect(res2.code).toBe(0);
    expect(res2.stdout).not.toContain("# note: jetstream.sync");
  });
});
