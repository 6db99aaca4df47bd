/**
 * [cluster] configuration: routes require [tls]; the route secret comes from
 * a private file (chmod 600) or UNIBUS_CLUSTER_SECRET and is never printed;
 * the node must find itself among the peers (or be told with advertise);
 * `unibus init cluster` writes a CA, a 0600 secret and one config per node,
 * refuses to overwrite them without --force; the annotated sample stays valid.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, cpSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { makeCaDir } from "./pki-fixtures.ts";
import { ROOT, runUnibus, tempDir } from "./_helpers.ts";

const dir = tempDir("unibus-cluster-cfg-");
afterAll(() => dir[Symbol.dispose]());
const ca = await makeCaDir(dir.path, "ca");
const SECRET = "route-secret-0123456789-abcdef";

function secretFile(name: string, mode: number, value = SECRET): string {
  const file = join(dir.path, name);
  writeFileSync(file, value + "\n");
  chmodSync(file, mode);
  return file;
}

function toml(cluster: string, withTls = true): string {
  return `[node]\nname = "n1"\n[cluster]\nname = "lab"\n${cluster}\n${withTls ? `[tls]\nca_cert = "${ca.cert}"\nca_key = "${ca.key}"\n` : ""}`;
}

async function check(name: string, text: string, env: Record<string, string> = {}) {
  const file = join(dir.path, `${name}.toml`);
  writeFileSync(file, text);
  return { file, ...(await runUnibus(["config", "check", "--config", file], { env: { UNIBUS_CLUSTER_SECRET: "", ...env } })) };
}

const PEERS = `listen = "127.0.0.1:16001"\npeers = ["127.0.0.1:16001", "127.0.0.1:16002", "127.0.0.1:16003"]`;

describe("[cluster] validation", () => {
  test("a valid cluster config prints its peers and a redacted secret, never the secret", async () => {
    const res = await check("valid", toml(`${PEERS}\nsecret_file = "${secretFile("ok.secret", 0o600)}"`));
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('advertise = "127.0.0.1:16001"');
    expect(res.stdout).toMatch(/secret = "<redacted: from file .*ok\.secret>"/);
    expect(res.stdout).not.toContain(SECRET);
  });

  test("[cluster] without [tls] is refused, naming the cluster key", async () => {
    const res = await check("no-tls", toml(`${PEERS}\nsecret_file = "${secretFile("ok2.secret", 0o600)}"`, false));
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/no-tls\.toml:\d+:\d+: cluster: expected a \[tls\] section/);
  });

  test("a secret file readable by others is refused with the chmod that fixes it", async () => {
    const file = secretFile("loose.secret", 0o644);
    const res = await check("loose", toml(`${PEERS}\nsecret_file = "${file}"`));
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/loose\.toml:\d+:\d+: cluster\.secret_file: .*chmod 600/);
    expect(res.stderr).toContain(`chmod 600 ${file}`);
    expect(res.stderr).not.toContain(SECRET);
  });

  test("a short secret is refused without echoing it", async () => {
    const res = await check("short", toml(`${PEERS}\nsecret_file = "${secretFile("short.secret", 0o600, "tiny-secret")}"`));
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/cluster\.secret_file: expected a route secret of at least 16 characters/);
    expect(res.stderr).not.toContain("tiny-secret");
  });

  test("UNIBUS_CLUSTER_SECRET replaces secret_file and is shown as redacted", async () => {
    const res = await check("env", toml(PEERS), { UNIBUS_CLUSTER_SECRET: SECRET });
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('secret = "<redacted: from env UNIBUS_CLUSTER_SECRET>"');
    expect(res.stdout).not.toContain(SECRET);
  });

  test("no secret at all is refused, naming both ways to give one", async () => {
    const res = await check("nosecret", toml(PEERS));
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/cluster: expected secret_file = "FILE" .* or the environment variable UNIBUS_CLUSTER_SECRET/);
  });

  test("a node whose own address is not among the peers is refused unless advertise names it", async () => {
    const peers = `listen = "127.0.0.1:16001"\npeers = ["127.0.0.1:16002", "127.0.0.1:16003"]\nsecret_file = "${secretFile("ok3.secret", 0o600)}"`;
    const res = await check("notself", toml(peers));
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/notself\.toml:\d+:\d+: cluster\.peers: none of the peers is this node.*cluster\.advertise/);
    const fixed = await check("advertised", toml(`${peers}\nadvertise = "192.0.2.10:16001"`));
    expect(fixed.stderr).toBe("");
    expect(fixed.code).toBe(0);
  });

  test("a peer listed twice is refused at its position", async () => {
    const res = await check("dupe", toml(`listen = "127.0.0.1:16001"\npeers = ["127.0.0.1:16001", "127.0.0.1:16002", "127.0.0.1:16002"]\nsecret_file = "${secretFile("ok4.secret", 0o600)}"`));
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/cluster\.peers\.2: "127\.0\.0\.1:16002" is listed twice/);
  });

  test("the route port may not clash with the client port", async () => {
    const res = await check("clash", `[client]\nlisten = "127.0.0.1:16001"\n` + toml(`${PEERS}\nsecret_file = "${secretFile("ok5.secret", 0o600)}"`));
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/cluster\.listen: port 16001 is already used by client\.listen/);
  });
});

describe("unibus init cluster", () => {
  test("writes a CA, a 0600 secret and one valid config per node; refuses to overwrite; --force replaces", async () => {
    const out = join(dir.path, "homelab");
    const args = ["init", "cluster", "--name", "homelab", "--node", "pi-1=10.0.0.11", "--node", "pi-2=10.0.0.12", "--node", "pi-3=10.0.0.13:7222", "--out", out];
    const res = await runUnibus(args);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const mode = (f: string) => statSync(join(out, f)).mode & 0o777;
    expect(mode("cluster.secret")).toBe(0o600);
    expect(mode("certs/ca-key.pem")).toBe(0o600);
    expect(mode("certs/ca.pem")).toBe(0o644);
    const secret = readFileSync(join(out, "cluster.secret"), "utf8").trim();
    expect(secret.length).toBeGreaterThanOrEqual(40);
    expect(res.stdout).not.toContain(secret);
    const pi1 = readFileSync(join(out, "pi-1.toml"), "utf8");
    expect(pi1).toContain('peers = ["10.0.0.11:6222", "10.0.0.12:6222", "10.0.0.13:7222"]');
    expect(pi1).toContain('advertise = "10.0.0.11:6222"');
    expect(pi1).toContain('sans = ["10.0.0.11"]');
    expect(pi1).not.toContain(secret);
    expect(readFileSync(join(out, "pi-3.toml"), "utf8")).toContain('listen = "0.0.0.0:7222"');
    for (const name of ["pi-1", "pi-2", "pi-3"]) {
      const c = await runUnibus(["config", "check", "--config", join(out, `${name}.toml`)], { env: { UNIBUS_CLUSTER_SECRET: "" } });
      expect(c.code).toBe(0);
      expect(c.stdout).not.toContain(secret);
    }

    // One install layout, told the same way as install.sh and README tell it.
    for (const [what, text] of [["printed next steps", res.stdout], ["pi-1.toml header", pi1]] as const) {
      expect({ what, installs: text.includes("/etc/unibus/unibus.toml"), installSh: text.includes(`sudo ./install.sh --config ${basename(out)}/pi-1.toml`), arch: /--binary|unibus-linux-arm64/.test(text) })
        .toEqual({ what, installs: true, installSh: true, arch: false });
      expect({ what, perNodePath: /\/etc\/unibus\/(pi-\d|NODE)\.toml/.test(text) }).toEqual({ what, perNodePath: false });
    }
    expect(res.stdout).toContain("(if you ran this elsewhere, copy this folder there first)");
    expect(res.stdout).toMatch(/\n  sudo \.\/install\.sh --join 10\.0\.0\.11:6223 --token UB1-\S+ /);
    expect(res.stdout).toContain("open between the boxes: tcp 6222, 6223, 7222, 7223 (routes: mutual TLS; the join port: TLS, a new box proves its token)");

    const again = await runUnibus(args);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already exists; refusing to overwrite");
    expect(readFileSync(join(out, "cluster.secret"), "utf8").trim()).toBe(secret);

    const forced = await runUnibus([...args, "--force"]);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(out, "cluster.secret"), "utf8").trim()).not.toBe(secret);
  });

  test("--ca DIR reuses another site's CA, checked first; a wrong CA folder names the file and writes nothing", async () => {
    const siteA = join(dir.path, "site-a");
    expect((await runUnibus(["init", "cluster", "--name", "site-a", "--site", "--node", "a-1=10.1.0.1", "--node", "a-2=10.1.0.2", "--out", siteA])).code).toBe(0);
    const siteB = join(dir.path, "site-b");
    const res = await runUnibus(["init", "cluster", "--name", "site-b", "--site", "--node", "b-1=10.2.0.1", "--node", "b-2=10.2.0.2", "--out", siteB, "--ca", join(siteA, "certs")]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`reused from ${join(siteA, "certs")}`);
    // --site: each node's config declares its site with its own JetStream, and both sites share one gateway secret (0600).
    expect(readFileSync(join(siteB, "b-1.toml"), "utf8")).toContain('[gateway]\n# This site keeps its own JetStream (domain "site-b")');
    expect(readFileSync(join(siteB, "b-2.toml"), "utf8")).toContain('site = "site-b"');
    expect(readFileSync(join(siteB, "gateway.secret"), "utf8")).toBe(readFileSync(join(siteA, "gateway.secret"), "utf8"));
    expect(statSync(join(siteB, "gateway.secret")).mode & 0o777).toBe(0o600);
    expect(res.stdout).not.toContain(readFileSync(join(siteA, "gateway.secret"), "utf8").trim());
    const checked = await runUnibus(["config", "check", "--config", join(siteB, "b-1.toml")], { env: { UNIBUS_CLUSTER_SECRET: "" } });
    expect(checked.code).toBe(0);
    expect(checked.stdout).toContain('site = "site-b"');
    // One CA for both sites: the same certificate and key, with the key still 0600.
    expect(readFileSync(join(siteB, "certs", "ca.pem"), "utf8")).toBe(readFileSync(join(siteA, "certs", "ca.pem"), "utf8"));
    expect(readFileSync(join(siteB, "certs", "ca-key.pem"), "utf8")).toBe(readFileSync(join(siteA, "certs", "ca-key.pem"), "utf8"));
    expect(statSync(join(siteB, "certs", "ca-key.pem")).mode & 0o777).toBe(0o600);
    // Each site keeps its own route secret.
    expect(readFileSync(join(siteB, "cluster.secret"), "utf8")).not.toBe(readFileSync(join(siteA, "cluster.secret"), "utf8"));

    const init = (out: string, caDir: string) => runUnibus(["init", "cluster", "--name", "site-c", "--node", "c-1=10.3.0.1", "--out", out, "--ca", caDir]);
    const missing = await init(join(dir.path, "site-c1"), join(dir.path, "nowhere"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`${join(dir.path, "nowhere", "ca.pem")} does not exist`);
    // A key that is not the certificate's: the message names the key file.
    const mixed = join(dir.path, "mixed-ca");
    cpSync(join(siteA, "certs"), mixed, { recursive: true });
    cpSync(ca.key, join(mixed, "ca-key.pem"));
    chmodSync(join(mixed, "ca-key.pem"), 0o600);
    const wrongKey = await init(join(dir.path, "site-c2"), mixed);
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toContain(`CA key ${join(mixed, "ca-key.pem")} does not belong to CA certificate ${join(mixed, "ca.pem")}`);
    // A node certificate is no CA.
    const notCa = join(dir.path, "not-a-ca");
    cpSync(join(siteA, "certs"), notCa, { recursive: true });
    const node = await runUnibus(["cert", "issue", "--ca", join(siteA, "certs"), "--name", "x", "--no-host-sans", "--out", join(dir.path, "x-cert")]);
    expect(node.code).toBe(0);
    cpSync(join(dir.path, "x-cert", "node.pem"), join(notCa, "ca.pem"));
    const leaf = await init(join(dir.path, "site-c3"), notCa);
    expect(leaf.code).toBe(2);
    expect(leaf.stderr).toContain(`CA certificate ${join(notCa, "ca.pem")} is not a CA certificate`);
    for (const out of ["site-c1", "site-c2", "site-c3"]) expect(() => statSync(join(dir.path, out))).toThrow();
  });

  test("bad --node arguments are usage errors and write nothing", async () => {
    const out = join(dir.path, "bad");
    for (const node of [["pi 1=10.0.0.1"], ["pi-1"], ["pi-1=10.0.0.1", "pi-1=10.0.0.2"], ["a=10.0.0.1", "b=10.0.0.1"], ["a=10.0.0.1:99999"]]) {
      const res = await runUnibus(["init", "cluster", "--name", "lab", ...node.flatMap((n) => ["--node", n]), "--out", out]);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/--node/);
    }
    expect(() => statSync(out)).toThrow();
  });
});

test("the annotated home-lab sample config stays valid", async () => {
  const folder = join(dir.path, "sample");
  cpSync(join(ROOT, "config", "homelab"), folder, { recursive: true });
  cpSync(ca.dir, join(folder, "certs"), { recursive: true });
  const res = await runUnibus(["config", "check", "--config", join(folder, "pi-1.toml")], { env: { UNIBUS_CLUSTER_SECRET: SECRET } });
  expect(res.stderr).toBe("");
  expect(res.code).toBe(0);
  expect(res.stdout).toContain('name = "homelab"');
});
