/**
 * Who a member admits: the file's users first, then the cluster's; the file
 * wins a clash of names or keys on its box, system-account names are never
 * taken, removed users are left out, and a box with allow_anonymous applies
 * none of the cluster's users.
 */
import { expect, test } from "bun:test";
import { clusterAccess, usesClusterAccess, withClusterUsers } from "../../lib/access/client-users.ts";
import type { AccessEntry } from "../../lib/access/ledger.ts";
import type { UnibusConfig } from "../../lib/config/sections.ts";

const HASH = "$2a$10$" + "c".repeat(53);
const KEY = "UC26Q733YPCDNF74JMPKP57BWAGHCNSH3B46SA5ZD5X2UPHVVNDNW5NJ";

function member(overrides: Partial<UnibusConfig["client"]> = {}, anonymous = false): UnibusConfig {
  return {
    file: "/etc/unibus/unibus.toml",
    cluster: { name: "lab" },
    tls: { caCert: "ca.pem" },
    client: { listen: { host: "0.0.0.0", port: 4222, text: "0.0.0.0:4222" }, allowAnonymous: anonymous, users: [], nkeys: [], ...overrides },
    systemAccount: { users: [{ user: "ops", password: { source: "inline", key: "password", value: "x" } }], nkeys: [] },
  } as unknown as UnibusConfig;
}

const entries: AccessEntry[] = [
  { name: "app", kind: "password", passwordHash: HASH, at: 1, by: "a" },
  { name: "svc", kind: "password", passwordHash: HASH, at: 1, by: "a" },
  { name: "ops", kind: "password", passwordHash: HASH, at: 1, by: "a" },
  { name: "sensor", kind: "nkey", publicKey: KEY, publish: { allow: ["sensors.>"] }, at: 1, by: "a" },
  { name: "gone", kind: "password", removed: true, at: 2, by: "b" },
];

test("the file's user of the same name wins on its box, and system-account names are never taken", () => {
  const config = member({ users: [{ user: "svc", password: { source: "inline bcrypt hash", key: "password_hash", value: HASH } }] });
  const access = clusterAccess(config, entries);
  expect(access.users.map((u) => u.user)).toEqual(["app"]);
  expect(access.shadowed.sort()).toEqual(["ops", "svc"]);
  expect(access.nkeys).toEqual([{ publicKey: KEY, publish: ["sensors.>"], subscribe: [] }]);
  expect(withClusterUsers(config, entries).users.map((u) => u.user)).toEqual(["svc", "app"]);
});

test("a file nkey with the cluster nkey's key wins, and removed users are left out", () => {
  const config = member({ nkeys: [{ publicKey: KEY, publish: [], subscribe: [] }] });
  const access = clusterAccess(config, entries);
  expect(access.nkeys).toEqual([]);
  expect(access.shadowed).toContain("sensor");
  expect(access.users.map((u) => u.user)).not.toContain("gone");
});

test("a box that lets anonymous clients in, or is no cluster member, applies none of the cluster's users", () => {
  expect(usesClusterAccess(member({}, true))).toBe(false);
  expect(clusterAccess(member({}, true), entries).users).toEqual([]);
  const single = { ...member(), cluster: undefined } as unknown as UnibusConfig;
  expect(clusterAccess(single, entries).users).toEqual([]);
});
