/**
 * Secret files (CA key, cluster secret, admin token, passwords) must be
 * private to the service. install.sh lays /etc/unibus out as root:unibus with
 * keys and secrets 0640, so group read is accepted in exactly that layout —
 * root owns the file, its group is the one the (non-root) node runs as — and
 * refused everywhere else with the chmod that fixes it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { exposedBits, serviceIdentity, unreadableByService } from "../lib/fsutil.ts";
import { BIN_X64, IN_CI, RunningUnibus, freePort, tempDir, writeConfig } from "./_helpers.ts";

const SERVICE = { uid: 65534, gid: 65534 }; // nobody:nogroup stands in for unibus:unibus
const asRoot = process.getuid?.() === 0;

describe("exposedBits", () => {
  const service = { uid: 1000, gid: 1000 };
  test("owner-only files expose nothing", () => {
    expect(exposedBits({ mode: 0o100600, uid: 1000, gid: 1000 }, service)).toBe(0);
    expect(exposedBits({ mode: 0o100400, uid: 0, gid: 0 }, service)).toBe(0);
  });
  test("group read is forgiven only for root-owned files in the service's group", () => {
    expect(exposedBits({ mode: 0o100640, uid: 0, gid: 1000 }, service)).toBe(0);
    expect(exposedBits({ mode: 0o100640, uid: 0, gid: 0 }, service)).toBe(0o040); // someone else's group
    expect(exposedBits({ mode: 0o100640, uid: 1000, gid: 1000 }, service)).toBe(0o040); // owner could chmod 600
    expect(exposedBits({ mode: 0o100640, uid: 0, gid: 0 }, { uid: 0, gid: 0 })).toBe(0o040); // root needs no group
  });
  test("group write and any access by others are never forgiven", () => {
    expect(exposedBits({ mode: 0o100660, uid: 0, gid: 1000 }, service)).toBe(0o020);
    expect(exposedBits({ mode: 0o100644, uid: 0, gid: 1000 }, service)).toBe(0o004);
  });
});

describe("root judges installed files as the service will use them", () => {
  // The fault: install.sh laid secrets out 0640 root:unibus and then checked the config as root,
  // which refused them, though the service (running as unibus) accepts them.
  const accounts = tempDir("unibus-accounts-");
  afterAll(() => accounts[Symbol.dispose]());
  const passwd = join(accounts.path, "passwd");
  const group = join(accounts.path, "group");
  writeFileSync(passwd, "root:x:0:0:root:/root:/bin/bash\nunibus:x:998:997:unibus:/nonexistent:/usr/sbin/nologin\n");
  writeFileSync(group, "root:x:0:\nunibus:x:997:\n");
  test.if(asRoot)("root judges a file in /etc/unibus for the unibus account, and anything else for itself", () => {
    expect(serviceIdentity("/etc/unibus/cluster.secret", { passwd, group })).toEqual({ uid: 998, gid: 997, name: "unibus" });
    expect(serviceIdentity("/tmp/x/cluster.secret", { passwd, group })).toEqual({ uid: 0, gid: 0 });
    expect(serviceIdentity("/etc/unibus/cluster.secret", { passwd: join(accounts.path, "none"), group: join(accounts.path, "none") })).toEqual({ uid: 0, gid: 0 });
  });
  test("a 0640 root:unibus secret is fine for the service; a 0600 root:root one is unreadable to it", () => {
    const svc = { uid: 998, gid: 997, name: "unibus" };
    expect(exposedBits({ mode: 0o100640, uid: 0, gid: 997 }, svc)).toBe(0);
    expect(unreadableByService({ mode: 0o100640, uid: 0, gid: 997 }, "/etc/unibus/cluster.secret", svc)).toBeUndefined();
    expect(unreadableByService({ mode: 0o100600, uid: 998, gid: 997 }, "/etc/unibus/cluster.secret", svc)).toBeUndefined();
    expect(unreadableByService({ mode: 0o100600, uid: 0, gid: 0 }, "/etc/unibus/cluster.secret", svc)).toMatch(/service user unibus cannot read \/etc\/unibus\/cluster.secret .*chown root:unibus .*chmod 640/);
    expect(unreadableByService({ mode: 0o100600, uid: 0, gid: 0 }, "/etc/unibus/cluster.secret", { uid: 0, gid: 0 })).toBeUndefined();
  });
});

describe("the installed layout works for a node running as the service user", () => {
  if (!asRoot && IN_CI) throw new Error("prerequisite missing in CI: these tests need root to chown files");
  const dir = tempDir("unibus-svcgroup-");
  afterAll(() => dir[Symbol.dispose]());

  async function layout() {
    // /etc/unibus-like folder: root-owned, group = service group, 0750; keys and secrets 0640.
    const etc = join(dir.path, `etc-${crypto.randomUUID().slice(0, 8)}`);
    const init = Bun.spawnSync([BIN_X64, "init", "cluster", "--name", "lab", "--node", "solo=127.0.0.1", "--out", etc], { stdout: "pipe", stderr: "pipe" });
    expect(init.stderr.toString()).toBe("");
    expect(init.exitCode).toBe(0);
    chmodSync(dir.path, 0o755);
    for (const [path, mode] of [[etc, 0o750], [join(etc, "certs"), 0o750], [join(etc, "certs", "ca-key.pem"), 0o640], [join(etc, "cluster.secret"), 0o640], [join(etc, "certs", "ca.pem"), 0o644], [join(etc, "solo.toml"), 0o640]] as const) {
      chownSync(path, 0, SERVICE.gid);
      chmodSync(path, mode);
    }
    return etc;
  }

  test.if(asRoot)("config check as the service user accepts 0640 root:service-group secrets and refuses 0644", async () => {
    const etc = await layout();
    const check = () => Bun.spawnSync([BIN_X64, "config", "check", "--config", join(etc, "solo.toml")], { stdout: "pipe", stderr: "pipe", ...SERVICE });
    const ok = check();
    expect(ok.stderr.toString()).toBe("");
    expect(ok.exitCode).toBe(0);
    chmodSync(join(etc, "cluster.secret"), 0o644);
    const bad = check();
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.toString()).toContain(`chmod 600 ${join(etc, "cluster.secret")}`);
  });

  test.if(asRoot)("a node running as the service user issues its certificate from a 0640 root:service-group CA key", async () => {
    const etc = await layout();
    const data = join(dir.path, `data-${crypto.randomUUID().slice(0, 8)}`);
    require("node:fs").mkdirSync(data, { mode: 0o700 });
    chownSync(data, SERVICE.uid, SERVICE.gid);
    const config = writeConfig(etc, `[node]\nname = "svc"\ndata_dir = "${data}"\n[client]\nlisten = "127.0.0.1:${await freePort()}"\n[monitor]\nlisten = "127.0.0.1:${await freePort()}"\n[admin]\nlisten = "127.0.0.1:${await freePort()}"\n[tls]\nca_cert = "certs/ca.pem"\nca_key = "certs/ca-key.pem"\n`, "svc.toml");
    chownSync(config, 0, SERVICE.gid);
    chmodSync(config, 0o640);
    await using node = new RunningUnibus(["--config", config], {}, undefined, SERVICE);
    await node.ready();
    expect(node.log).toContain("issued node certificate");
    // The certificate, its key and the CA bundle nats-server verifies peers with (lib/pki/trust.ts), all written by the service user.
    expect(readdirSync(join(data, "tls")).sort()).toEqual(["ca-bundle.pem", "node-key.pem", "node.pem"]);
  });
});
