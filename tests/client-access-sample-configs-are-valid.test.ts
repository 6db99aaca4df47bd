/**
 * The annotated hub and edge samples (config/hub.toml, config/edge-leaf.toml)
 * stay valid: with the files and variables they name in place, `config
 * check` accepts them and its table says who may connect from where.
 */
import { describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeCaDir } from "./pki-fixtures.ts";
import { ROOT, runUnibus, tempDir } from "./_helpers.ts";

describe("annotated access samples", () => {
  test("hub.toml and edge-leaf.toml pass config check, and the table lists every listener", async () => {
    using dir = tempDir();
    await makeCaDir(dir.path, "certs");
    const conf = join(dir.path, "config");
    mkdirSync(join(conf, "secrets"), { recursive: true });
    for (const f of ["hub.toml", "edge-leaf.toml"]) copyFileSync(join(ROOT, "config", f), join(conf, f));
    for (const f of ["dashboard.pass", "edge-kitchen.pass"]) writeFileSync(join(conf, "secrets", f), `secret-of-${f}\n`, { mode: 0o600 });
    const env = { UNIBUS_SENSOR_PASSWORD: "sensor-password-1", UNIBUS_EDGE_GARAGE_PASSWORD: "garage-password-1" };

    const hub = await runUnibus(["config", "check", "--config", join(conf, "hub.toml")], { env });
    expect(hub.stderr).toBe("");
    expect(hub.code).toBe(0);
    expect(hub.stdout).toMatch(/#\s+client\s+0\.0\.0\.0:4222\s+any network\s+yes\s+users\(3\), nkeys\(1\)/);
    expect(hub.stdout).toMatch(/#\s+mqtt\s+0\.0\.0\.0:8883\s+any network\s+yes\s+users\(3\)\n/);
    expect(hub.stdout).toMatch(/#\s+websocket\s+0\.0\.0\.0:8443\s+any network\s+yes\s+users\(3\), nkeys\(1\)/);
    expect(hub.stdout).toMatch(/#\s+leafnodes\s+0\.0\.0\.0:7422\s+any network\s+yes\s+users\(2\)/);
    for (const secret of [...Object.values(env), "secret-of-dashboard.pass", "secret-of-edge-kitchen.pass"]) expect(hub.stdout).not.toContain(secret);

    const edge = await runUnibus(["config", "check", "--config", join(conf, "edge-leaf.toml")], { env });
    expect(edge.stderr).toBe("");
    expect(edge.code).toBe(0);
    expect(edge.stdout).toMatch(/#\s+client\s+127\.0\.0\.1:4222\s+this host only\s+no\s+anonymous/);
    expect(edge.stdout).toMatch(/#\s+mqtt\s+127\.0\.0\.1:1883\s+this host only\s+no\s+anonymous/);
    // The sample lists every hub node in one remote (urls), so a hub node's loss moves the edge to another.
    for (const hub of ["hub-1", "hub-2", "hub-3"]) expect(edge.stdout).toContain(`"nats-leaf://${hub}.lan:7422"`);
    expect(edge.stdout).not.toContain("secret-of-edge-kitchen.pass");
  });
});
