/**
 * The join-token store (/etc/unibus/join-tokens.secret) is read by the
 * service user and rewritten by root (`unibus token create`, `token revoke`):
 * every rewrite must keep the owner, group and mode install.sh gave it, or
 * the service can no longer read it and refuses every join with EACCES.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, chownSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createToken, readTokens, revokeToken } from "../../lib/membership/token-store.ts";
import { IN_CI, tempDir } from "../_helpers.ts";

const dir = tempDir("unibus-token-store-");
afterAll(() => dir[Symbol.dispose]());
const DIGEST = "0".repeat(64);

// Root only (chown to another group); in CI the suite runs as root, and a non-root CI run fails here.
test.if(process.getuid?.() === 0 || IN_CI)("token revoke and token create run as root keep the store's service group and mode", () => {
  const store = join(dir.path, "join-tokens.secret");
  const secret = join(dir.path, "cluster.secret");
  writeFileSync(secret, "route-secret-0123456789\n");
  const { record } = createToken(store, DIGEST, 60_000, secret);
  // As install.sh leaves it: root, the service's group, 0640.
  chownSync(store, 0, 4321);
  chmodSync(store, 0o640);
  revokeToken(store, record.id);
  const revoked = statSync(store);
  expect({ gid: revoked.gid, mode: revoked.mode & 0o777 }).toEqual({ gid: 4321, mode: 0o640 });
  expect(readTokens(store).find((t) => t.id === record.id)?.revokedAt).toBeTruthy();
  createToken(store, DIGEST, 60_000, secret); // the route secret here is root:root 0600, the store must not follow it
  const created = statSync(store);
  expect({ gid: created.gid, mode: created.mode & 0o777 }).toEqual({ gid: 4321, mode: 0o640 });
});
