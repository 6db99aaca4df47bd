/**
 * `npm run release` makes each architecture's download: the xz-compressed
 * executable, its sha256 and install.sh. install.sh takes the .xz (by
 * --binary or found beside itself), checks the sum, unpacks it to a temporary
 * file it removes, and installs the same executable as dist/; a damaged file
 * or a missing sum is refused before anything is written.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { BIN_X64, ROOT, prerequisite, tempDir } from "./_helpers.ts";

const dir = tempDir("unibus-release-");
afterAll(() => dir[Symbol.dispose]());
const out = join(dir.path, "out");
const rel = join(out, "linux-x64");
const xzFile = join(rel, "unibus-linux-x64.xz");
const ready = prerequisite(existsSync(BIN_X64), `${BIN_X64} (npm run build)`)
  && prerequisite(Bun.which("xz") !== null, "xz (apt: xz-utils)")
  && prerequisite(process.getuid?.() === 0, "root (install.sh chowns to the unibus user)");

beforeAll(() => {
  chmodSync(dir.path, 0o755); // install.sh checks staged files as the unibus user
  if (!ready) return;
  // Level 0 keeps the test fast; the release itself uses -6.
  const made = spawnSync(process.execPath, [join(ROOT, "scripts", "release.ts"), "--target", "linux-x64", "--no-build", "--level", "0", "--out", out], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`release.ts failed: ${made.stderr}`);
}, 180_000);

function install(binaryArgs: string[], script = join(ROOT, "install.sh")) {
  const root = join(dir.path, `root-${Math.random().toString(36).slice(2)}`);
  const tmp = join(dir.path, `tmp-${Math.random().toString(36).slice(2)}`);
  mkdirSync(root);
  mkdirSync(tmp);
  const config = join(dir.path, "node.toml");
  writeFileSync(config, '[node]\nname = "rel"\n[admin]\nenabled = false\n');
  const res = spawnSync("bash", [script, "--config", config, ...binaryArgs, "--root", root, "--no-start"], { encoding: "utf8", env: { ...process.env, TMPDIR: tmp }, timeout: 170_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr, root, leftInTmp: readdirSync(tmp) };
}

describe.if(ready)("release download", () => {
  test("each architecture's folder holds the .xz, its sha256 (sha256sum -c) and install.sh", () => {
    expect(readdirSync(rel).sort()).toEqual(["install.sh", "unibus-linux-x64.xz", "unibus-linux-x64.xz.sha256"]);
    expect(spawnSync("sha256sum", ["-c", "unibus-linux-x64.xz.sha256"], { cwd: rel, encoding: "utf8" }).stdout).toContain("unibus-linux-x64.xz: OK");
    expect(readFileSync(join(rel, "install.sh"), "utf8")).toBe(readFileSync(join(ROOT, "install.sh"), "utf8"));
    expect(spawnSync("xz", ["-dc", xzFile], { maxBuffer: 1 << 30 }).stdout.equals(readFileSync(BIN_X64))).toBe(true);
  }, 60_000); // sha256sum and unpacking 115 MiB take longer than 5 s on a loaded machine

  test("install.sh beside the .xz finds it, checks the sum and installs the same executable", () => {
    const res = install([], join(rel, "install.sh"));
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`verified ${xzFile} (sha256 `);
    expect(readFileSync(join(res.root, "usr", "local", "bin", "unibus")).equals(readFileSync(BIN_X64))).toBe(true);
    expect(res.leftInTmp).toEqual([]);
  }, 180_000);

  test("a damaged .xz is refused before anything is written", () => {
    const bad = join(dir.path, "bad");
    mkdirSync(bad);
    const copy = join(bad, "unibus-linux-x64.xz");
    const bytes = readFileSync(xzFile);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
    writeFileSync(copy, bytes);
    copyFileSync(`${xzFile}.sha256`, `${copy}.sha256`);
    const res = install(["--binary", copy]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${copy} is damaged or incomplete: its sha256 is `);
    expect(res.stderr).toContain("download it again");
    expect(readdirSync(res.root)).toEqual([]);
    expect(res.leftInTmp).toEqual([]);
  });

  test("a .xz without its .sha256 is refused", () => {
    const lone = join(dir.path, "lone");
    mkdirSync(lone);
    copyFileSync(xzFile, join(lone, "unibus-linux-x64.xz"));
    const res = install(["--binary", join(lone, "unibus-linux-x64.xz")]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(".xz.sha256 is missing: each release .xz comes with its .sha256; download both");
    expect(readdirSync(res.root)).toEqual([]);
  });
});
