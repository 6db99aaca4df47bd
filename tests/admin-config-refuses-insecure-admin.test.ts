/**
 * The [admin] table: the default keeps the admin page on loopback; a
 * network address without TLS is refused unless allow_insecure = true; TLS
 * needs [tls]; a given token file must exist and be private. Each refusal is
 * exit 2 naming file, line, key and what was expected, with nothing started.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, runUnibus, tempDir, writeConfig } from "./_helpers.ts";

const dir = tempDir("unibus-admin-config-");
afterAll(() => dir[Symbol.dispose]());

async function check(admin: string, name: string) {
  const file = writeConfig(dir.path, `[node]\nname = "a1"\ndata_dir = "data-${name}"\n[admin]\n${admin}\n`, `${name}.toml`);
  const r = await runUnibus(["config", "check", "--config", file]);
  return { ...r, file };
}

describe("[admin] configuration", () => {
  test("the shipped config/node.toml serves the admin page on 127.0.0.1:8480 with a generated token", async () => {
    const r = await runUnibus(["config", "check", "--config", join(ROOT, "config", "node.toml")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[admin]\nenabled = true\nlisten = "127.0.0.1:8480"');
    expect(r.stdout).toMatch(/token = "<redacted: from \S+admin\.token, generated on first start>"/);
  });

  test("a network address without TLS is refused, naming the key and the way out", async () => {
    const r = await check('listen = "0.0.0.0:8480"', "open");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${r.file}:5:1: admin.listen: expected a loopback address (127.0.0.1 or [::1]) unless tls = true or allow_insecure = true`);
    expect(existsSync(join(dir.path, "data-open"))).toBe(false);
  });

  test("allow_insecure = true accepts a network address in clear text", async () => {
    const r = await check('listen = "0.0.0.0:8480"\nallow_insecure = true', "insecure");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("allow_insecure = true");
  });

  test("tls = true needs a [tls] section", async () => {
    const r = await check('listen = "0.0.0.0:8480"\ntls = true', "tls");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("admin.tls: expected a [tls] section");
  });

  test("a missing or world-readable token_file is refused; a private one is used", async () => {
    const missing = await check('token_file = "nope.token"', "missing");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("admin.token_file: file not found");
    const tokenFile = join(dir.path, "admin-open.token");
    writeFileSync(tokenFile, "0123456789abcdef0123\n");
    chmodSync(tokenFile, 0o644);
    const open = await check('token_file = "admin-open.token"', "open-token");
    expect(open.code).toBe(2);
    expect(open.stderr).toContain("admin.token_file: expected a private file (mode 0600)");
    chmodSync(tokenFile, 0o600);
    const ok = await check('token_file = "admin-open.token"', "ok-token");
    expect(ok.code).toBe(0);
    expect(ok.stdout).not.toContain("0123456789abcdef0123");
  });

  test("an unknown key and a clash with the client port are errors", async () => {
    const typo = await check("alow_insecure = true", "typo");
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("admin.alow_insecure: unknown key; expected one of enabled, listen, token_file, tls, allow_insecure");
    const clash = await check('listen = "127.0.0.1:4222"', "clash");
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain("admin.listen: port 4222 is already used by client.listen");
  });
});
