/**
 * `unibus version` tells two builds apart: package.json's version stays
 * 0.1.0 across builds, so the build adds the commit it came from (and
 * ".dirty" for uncommitted changes), or its build time without git. A user
 * who upgrades compares it before and after.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildVersion } from "../scripts/build.ts";
import { runUnibus, tempDir } from "./_helpers.ts";

const REPO = resolve(import.meta.dir, "..");
const git = (dir: string, ...args: string[]) => {
  const r = Bun.spawnSync(["git", "-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", ...args]);
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
};

describe("build version", () => {
  test("names the commit, then .dirty once a tracked file changes; the build time without git", () => {
    if (!Bun.which("git")) throw new Error("missing prerequisite: git is not installed");
    using dir = tempDir("unibus-version-");
    git(dir.path, "init", "-q");
    writeFileSync(join(dir.path, "a.ts"), "1\n");
    git(dir.path, "add", "a.ts");
    git(dir.path, "commit", "-qm", "one");
    const first = git(dir.path, "rev-parse", "--short=7", "HEAD");
    expect(buildVersion("0.1.0", dir.path)).toBe(`0.1.0+git.${first}`);
    writeFileSync(join(dir.path, "a.ts"), "2\n");
    expect(buildVersion("0.1.0", dir.path)).toBe(`0.1.0+git.${first}.dirty`);
    git(dir.path, "commit", "-qam", "two");
    const second = git(dir.path, "rev-parse", "--short=7", "HEAD");
    expect(second).not.toBe(first);
    expect(buildVersion("0.1.0", dir.path)).toBe(`0.1.0+git.${second}`);

    using plain = tempDir("unibus-version-nogit-");
    expect(buildVersion("0.1.0", plain.path, new Date("2026-11-29T21:24:00.123Z"))).toBe("0.1.0+built.20261129T212400Z");
  });

  test("unibus version and --version print the build's version: a commit of this repository and the build time", async () => {
    for (const args of [["version"], ["--version"]]) {
      const r = await runUnibus(args);
      expect(r.code).toBe(0);
      const m = /^unibus (\d+\.\d+\.\d+)\+git\.([0-9a-f]{7,})(\.dirty)?\nbuilt (\S+)\n/.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      expect(m![1]).toBe((await Bun.file(join(REPO, "package.json")).json()).version);
      expect(git(REPO, "cat-file", "-t", m![2]!)).toBe("commit");
      expect(Number.isNaN(Date.parse(m![4]!))).toBe(false);
    }
  }, 60_000);
});
