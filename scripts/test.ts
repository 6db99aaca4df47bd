/**
 * test.ts is `npm test`: build the executables when stale, run the whole
 * suite with bun test, and end with the plain line `N passed, N failed`
 * counted from the JUnit report (bun prints its own summary on stderr).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const ARTIFACTS = join(ROOT, "tests", "artifacts");
const REPORT = join(ARTIFACTS, "junit.xml");

mkdirSync(ARTIFACTS, { recursive: true });
rmSync(REPORT, { force: true });
const build = Bun.spawnSync([process.execPath, "scripts/build.ts", "--if-stale"], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
if (build.exitCode !== 0) {
  console.log("0 passed, 1 failed");
  process.exit(1);
}
// Cached inputs (bed root, board kernels) are made here, outside every test's time limit.
const prepare = Bun.spawnSync([process.execPath, "scripts/_prepare-tests.ts"], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
if (prepare.exitCode !== 0) console.error("prepare: failed; the tests that need its inputs will say why");
const proc = Bun.spawn(
  [process.execPath, "test", "--timeout", "180000", "--reporter=junit", `--reporter-outfile=${REPORT}`, ...process.argv.slice(2)],
  { cwd: ROOT, stdout: "inherit", stderr: "inherit", env: { ...process.env } },
);
const code = await proc.exited;
let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(REPORT)) {
  const xml = readFileSync(REPORT, "utf8");
  for (const m of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = m[2] ?? "";
    if (/<(failure|error)\b/.test(body)) failed++;
    else if (/<skipped\b/.test(body)) skipped++;
    else passed++;
  }
}
if (code !== 0 && failed === 0) failed = 1; // a crash or load error outside any test case
if (skipped) console.log(`${skipped} skipped (not counted as passed)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(code === 0 && failed === 0 ? 0 : 1);
