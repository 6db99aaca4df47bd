/**
 * The cluster's users merge the same in any order (last writer wins per
 * user, removals kept), drop malformed entries from a peer, and keep their
 * local copy readable by its owner only.
 */
import { expect, test } from "bun:test";
import { chmodSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AccessLedger, type AccessEntry } from "../../lib/access/ledger.ts";
import { tempDir } from "../_helpers.ts";

const HASH = "$2a$10$" + "a".repeat(53);
const HASH2 = "$2a$10$" + "b".repeat(53);
const add = (name: string, at: number, by = "a", passwordHash = HASH): AccessEntry => ({ name, kind: "password", passwordHash, at, by });
const gone = (name: string, at: number, by = "b"): AccessEntry => ({ name, kind: "password", removed: true, at, by });

test("merging the same changes in any order gives the same users", () => {
  const changes = [add("app", 1), add("app", 3, "b", HASH2), gone("app", 2), add("ops", 5), gone("ops", 6), add("dev", 4)];
  using d1 = tempDir();
  using d2 = tempDir();
  const one = new AccessLedger(d1.path);
  const two = new AccessLedger(d2.path);
  for (const c of changes) one.merge([c]);
  for (const c of [...changes].reverse()) two.merge([c]);
  expect(one.all()).toEqual(two.all());
  expect(one.digest()).toBe(two.digest());
  expect(one.active().map((e) => [e.name, e.passwordHash])).toEqual([["app", HASH2], ["dev", HASH]]);
});

test("an older change never undoes a newer one, a tie is broken by the writer's name", () => {
  using d = tempDir();
  const l = new AccessLedger(d.path);
  expect(l.merge([gone("app", 10)])).toEqual(["app"]);
  expect(l.merge([add("app", 9)])).toEqual([]);
  expect(l.merge([add("app", 10, "c")])).toEqual(["app"]);
  expect(l.get("app")!.removed).toBeUndefined();
});

test("malformed entries from a peer are dropped, stray keys are not kept", () => {
  using d = tempDir();
  const l = new AccessLedger(d.path);
  const changed = l.merge([
    { name: "bad name", kind: "password", passwordHash: HASH, at: 1, by: "a" },
    { name: "plain", kind: "password", passwordHash: "not-a-hash", at: 1, by: "a" },
    { name: "perm", kind: "password", passwordHash: HASH, publish: { allow: ["a..b"] }, at: 1, by: "a" },
    { ...add("ok", 1), extra: "x" },
  ]);
  expect(changed).toEqual(["ok"]);
  expect(Object.keys(l.get("ok")!)).not.toContain("extra");
});

test("the local copy is written 0600 and a copy others can read is refused", () => {
  using d = tempDir();
  const l = new AccessLedger(d.path);
  l.merge([add("app", 1)]);
  l.save();
  expect(statSync(l.file).mode & 0o777).toBe(0o600);
  expect(new AccessLedger(d.path).active().map((e) => e.name)).toEqual(["app"]);
  chmodSync(l.file, 0o644);
  expect(() => new AccessLedger(d.path)).toThrow(/chmod 600/);
  writeFileSync(join(d.path, "cluster-access.json"), "{", { mode: 0o600 });
  chmodSync(join(d.path, "cluster-access.json"), 0o600);
  expect(() => new AccessLedger(d.path)).toThrow(/not a unibus cluster access file/);
});
