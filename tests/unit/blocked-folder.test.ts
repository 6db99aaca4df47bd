/**
 * A file behind a folder its reader cannot enter is a permission problem,
 * said as one ("the unibus user cannot enter /etc/unibus/certs: mode 0700
 * root"), never "file not found" (lib/fsutil.ts blockedFolder), for the
 * service account judged by root and for a non-root user judging itself.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { blockedFolder } from "../../lib/fsutil.ts";
import { readSecretFile } from "../../lib/auth/secret-source.ts";
import { IN_CI, tempDir } from "../_helpers.ts";

const dir = tempDir("unibus-blocked-");
afterAll(() => dir[Symbol.dispose]());

// Root owns the folders made here; in CI the suite runs as root, and a non-root CI run fails here.
test.if(process.getuid?.() === 0 || IN_CI)("a root-only folder on the way is named with its mode and owner, for the service and for another user", () => {
  chmodSync(dir.path, 0o755);
  const certs = join(dir.path, "certs");
  mkdirSync(certs, { mode: 0o700 });
  chmodSync(certs, 0o700);
  const file = join(certs, "ca.pem");
  writeFileSync(file, "x", { mode: 0o644 });
  expect(blockedFolder(file, { uid: 4321, gid: 4322, name: "unibus" })).toBe(`the unibus user cannot enter ${certs}: mode 0700 root (run: chgrp unibus ${certs} && chmod g+x ${certs})`);
  expect(blockedFolder(file, { uid: 65534, gid: 65534 })).toStartWith(`this user (nobody) cannot enter ${certs}: mode 0700 root`);
  chmodSync(certs, 0o750);
  expect(blockedFolder(file, { uid: 4321, gid: 4322, name: "unibus" })).toContain("cannot enter");
  expect(blockedFolder(file, { uid: 4321, gid: 0, name: "unibus" })).toBeUndefined();
  expect(blockedFolder(file, { uid: 0, gid: 0 })).toBeUndefined();
  expect(blockedFolder(join(dir.path, "missing", "x.pem"), { uid: 4321, gid: 4322, name: "unibus" })).toBeUndefined();
});

test.if(process.getuid?.() === 0 || IN_CI)("a secret file behind such a folder is refused as a permission problem, not as missing", async () => {
  const secrets = join(dir.path, "secrets");
  mkdirSync(secrets, { mode: 0o700 });
  writeFileSync(join(secrets, "route.secret"), "s3cret-value-long-enough\n", { mode: 0o600 });
  // Judged as nobody, in a child process: it cannot stat the file at all.
  const proc = Bun.spawnSync([process.execPath, "-e", `const { readSecretFile } = await import(${JSON.stringify(join(import.meta.dir, "../../lib/auth/secret-source.ts"))}); console.log(readSecretFile(${JSON.stringify(join(secrets, "route.secret"))}, "secret_file").error)`], { uid: 65534, gid: 65534, stdout: "pipe", stderr: "pipe" });
  const out = proc.stdout.toString();
  expect(out).toContain(`this user (nobody) cannot enter ${secrets}: mode 0700 root`);
  expect(out).not.toContain("file not found");
  expect(readSecretFile(join(secrets, "route.secret"), "secret_file").error).toBeUndefined();
});
