/**
 * With `[admin] tls = true` the admin page is served over HTTPS with the
 * node certificate issued by the cluster CA, and the login cookie is Secure.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { makeCaDir } from "./pki-fixtures.ts";
import { RunningUnibus, freePort, nodeToml, tempDir, writeConfig } from "./_helpers.ts";

const dir = tempDir("unibus-admin-https-");
const adminPort = await freePort();
let node: RunningUnibus;
let ca = "";
let token = "";
const base = `https://127.0.0.1:${adminPort}`;

beforeAll(async () => {
  const caDir = await makeCaDir(dir.path, "ca");
  ca = readFileSync(caDir.cert, "utf8");
  const config = writeConfig(dir.path, nodeToml({
    name: "https-node", client: await freePort(), monitor: await freePort(),
    extra: `[admin]\nlisten = "127.0.0.1:${adminPort}"\ntls = true\n[tls]\nca_cert = "${caDir.cert}"\nca_key = "${caDir.key}"\n`,
  }));
  node = new RunningUnibus(["--config", config]);
  await node.ready();
  token = readFileSync(join(dir.path, "data", "admin.token"), "utf8").trim();
});

afterAll(async () => {
  await node?.stop();
  dir[Symbol.dispose]();
});

describe("[admin] tls = true", () => {
  test("serves HTTPS with the node certificate, verified against the cluster CA", async () => {
    expect(node.log).toContain(`url=${base}/`);
    const res = await fetch(`${base}/api/certificate`, { headers: { authorization: `Bearer ${token}` }, tls: { ca } });
    expect(res.status).toBe(200);
    const cert = await res.json() as { subject: string; sans: string[] };
    expect(cert.subject).toBe("CN=https-node");
    expect(cert.sans).toContain("127.0.0.1");
    await expect(fetch(`http://127.0.0.1:${adminPort}/healthz`)).rejects.toThrow();
  });

  test("the login cookie is Secure over HTTPS", async () => {
    const res = await fetch(`${base}/login`, { method: "POST", body: new URLSearchParams({ token }), headers: { origin: base }, redirect: "manual", tls: { ca } });
    expect(res.status).toBe(303);
    expect(res.headers.get("set-cookie")).toMatch(/; HttpOnly; Secure; SameSite=Strict$/);
  });
});
