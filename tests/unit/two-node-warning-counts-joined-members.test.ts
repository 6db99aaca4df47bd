/**
 * The "cluster of 2 nodes" warning counts the members the node knows of, not
 * only cluster.peers: a box that joined second lists just the CA holder there
 * (the members of that moment), and every `config check` and start on it
 * told its user to add a third node to cluster.peers although the cluster had
 * three or more (seen on the bed). Its members list (<data_dir>/members.json)
 * knows the members that joined later. Parses a config; no process; ~50 ms.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfigText } from "../../lib/config/load.ts";
import { preflightWarnings } from "../../lib/diagnosis/preflight.ts";
import { createCa, writeCaFiles } from "../../lib/pki/index.ts";
import { tempDir } from "../_helpers.ts";

const dir = tempDir("unibus-two-node-warning-");
afterAll(() => dir[Symbol.dispose]());
await writeCaFiles(join(dir.path, "certs"), await createCa({ name: "two-node warning test CA" }));
writeFileSync(join(dir.path, "cluster.secret"), "cluster-secret-0123456789abcdef\n");
chmodSync(join(dir.path, "cluster.secret"), 0o600);

/** warningsOf is pi-2's preflight warnings keys, with `members` (names, removed marked with "!") in its members list; undefined: no list. */
function warningsOf(sub: string, members?: string[]): string[] {
  const dataDir = join(dir.path, sub);
  mkdirSync(dataDir, { recursive: true });
  if (members) {
    const records = members.map((m, i) => ({ name: m.replace("!", ""), id: `id-${i}`, route: `10.0.0.${11 + i}:6222`, joinedAt: "2026-12-07T00:00:00Z", updatedAt: 1, ...(m.endsWith("!") ? { removed: true } : {}) }));
    writeFileSync(join(dataDir, "members.json"), JSON.stringify({ members: records }));
  }
  const text = [
    "[node]", 'name = "pi-2"', `data_dir = "${dataDir}"`, "",
    "[cluster]", 'name = "homelab"', 'listen = "0.0.0.0:6222"', 'peers = ["10.0.0.11:6222", "10.0.0.12:6222"]', 'advertise = "10.0.0.12:6222"', 'secret_file = "cluster.secret"', "",
    "[tls]", 'ca_cert = "certs/ca.pem"', 'ca_key = "certs/ca-key.pem"', "",
  ].join("\n");
  const config = parseConfigText(text, join(dir.path, "node.toml"), {}, { hostname: "pi-2", addresses: ["10.0.0.12"] });
  return preflightWarnings(config).map((w) => w.key);
}

describe("the two-node cluster warning", () => {
  test("a box that joined second, with a third member joined since, is not warned", () => {
    expect(warningsOf("three", ["pi-1", "pi-2", "pi-3"])).not.toContain("cluster.peers");
  });

  test("with two members known, or no members list, or the third removed, it is", () => {
    expect(warningsOf("two", ["pi-1", "pi-2"])).toContain("cluster.peers");
    expect(warningsOf("none")).toContain("cluster.peers");
    expect(warningsOf("removed", ["pi-1", "pi-2", "pi-3!"])).toContain("cluster.peers");
  });
});
