/**
 * One module names every data-dir path (lib/data-dir.ts), and one writer
 * writes a file with its owner and mode set before the rename
 * (lib/fsutil.ts writeFileAtomic): root's CLI writing into the service's
 * data dir must never leave, even for a moment, a file the service cannot read.
 */
import { afterAll, expect, test } from "bun:test";
import { chownSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { dataDirLayout } from "../../lib/data-dir.ts";
import { ownerOf, writeFileAtomic } from "../../lib/fsutil.ts";
import { IN_CI, ROOT, tempDir } from "../_helpers.ts";

const dir = tempDir("unibus-data-dir-");
afterAll(() => dir[Symbol.dispose]());

test("every data-dir path is inside the data dir and no two share a name", () => {
  const layout = dataDirLayout("/var/lib/unibus");
  const { root, storeDir, ...files } = layout;
  expect(root).toBe("/var/lib/unibus");
  expect(storeDir).toBe(root);
  for (const path of Object.values(files)) expect(path.startsWith(`${root}/`)).toBe(true);
  expect(new Set(Object.values(files)).size).toBe(Object.values(files).length);
});

test("no module outside lib/data-dir.ts joins a file name onto a data dir", () => {
  const offenders: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.tsx?$/.test(e.name) && !p.endsWith("lib/data-dir.ts")) {
        const text = readFileSync(p, "utf8");
        for (const m of text.matchAll(/join\(\s*[\w.#()]*(dataDir|tlsDir)\b[^)]*,\s*["'][^"']+["']/g)) offenders.push(`${relative(ROOT, p)}: ${m[0]}`);
      }
    }
  };
  walk(join(ROOT, "lib"));
  expect(offenders).toEqual([]);
});

test("the owned-file writer replaces a file atomically with the requested mode", () => {
  const file = join(dir.path, "a.json");
  writeFileSync(file, "old");
  const before = statSync(file).ino;
  writeFileAtomic(file, "new", 0o640);
  expect(readFileSync(file, "utf8")).toBe("new");
  expect(statSync(file).mode & 0o777).toBe(0o640);
  expect(statSync(file).ino).not.toBe(before);
  expect(readdirSync(dir.path).filter((n) => n.endsWith(".tmp"))).toEqual([]);
});

// Root only (chown to another user); in CI the suite runs as root, and a non-root CI run fails here.
test.if(process.getuid?.() === 0 || IN_CI)("root writing into a service-owned data dir leaves the file the service user's", () => {
  const data = join(dir.path, "data");
  mkdirSync(data, { mode: 0o700 });
  chownSync(data, 4321, 4322);
  const file = dataDirLayout(data).leftMarker;
  writeFileAtomic(file, "{}\n", 0o600, ownerOf(data));
  const st = statSync(file);
  expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o777 }).toEqual({ uid: 4321, gid: 4322, mode: 0o600 });
});
