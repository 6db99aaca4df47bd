/**
 * A join writes its data (node id, members, uplink) into the data dir it was
 * given; the config it writes must name that folder when the config would
 * not find it by itself. Found by a probe: `unibus join --out DIR
 * --data-dir X` wrote a member config without data_dir, so the node it
 * started used DIR/data and not the node id and members the join wrote to X.
 */
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../_helpers.ts";
import { dataDirLine } from "../../lib/cli/join.ts";
import { loadConfig } from "../../lib/config/load.ts";

test("no data_dir line where the config finds the folder itself: DIR/data beside --out DIR, /var/lib/unibus for /etc/unibus", () => {
  expect(dataDirLine({ dir: "/home/pi/lab", dataDir: "/home/pi/lab/data", installed: false })).toBe("");
  expect(dataDirLine({ dir: "/etc/unibus", dataDir: "/var/lib/unibus", installed: true })).toBe("");
});

test("a data_dir line for any other folder, installed or not", () => {
  expect(dataDirLine({ dir: "/home/pi/lab", dataDir: "/srv/unibus", installed: false })).toBe('data_dir = "/srv/unibus"\n');
  expect(dataDirLine({ dir: "/etc/unibus", dataDir: "/srv/unibus", installed: true })).toBe('data_dir = "/srv/unibus"\n');
});

test("the written line makes the config resolve to the folder the join wrote", () => {
  using dir = tempDir("unibus-join-data-dir-");
  const elsewhere = join(dir.path, "elsewhere");
  const file = join(dir.path, "unibus.toml");
  writeFileSync(file, `[node]\nname = "pi-4"\n${dataDirLine({ dir: dir.path, dataDir: elsewhere, installed: false })}`);
  expect(loadConfig(file, {}).node.dataDir).toBe(elsewhere);
  writeFileSync(file, `[node]\nname = "pi-4"\n${dataDirLine({ dir: dir.path, dataDir: join(dir.path, "data"), installed: false })}`);
  expect(loadConfig(file, {}).node.dataDir).toBe(join(dir.path, "data"));
});
