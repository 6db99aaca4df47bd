/**
 * test.ts is `npm test`: build the executables when stale, run the whole
 * suite with bun test, and end with the plain line `N passed, N failed`
 * counted from the JUnit report (bun prints its own summary on stderr).
 *
 * `npm run test:fast` (--fast) runs the fast tier only: tests/unit (pure
 * logic, fake time or files) and tests/in-process (nodes started inside the
 * test process, tests/_node-harness.ts), without preparing the bed's
 * cached inputs. The rest start the compiled executable, boxes or boards.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const ARTIFACTS = join(ROOT, "tests", "artifacts");
const REPORT = join(ARTIFACTS, "junit.xml");
/** FAST_TIER are the folders of the fast tier: no compiled executable of their own to start, no boxes, no boards. */
const FAST_TIER = ["tests/unit", "tests/in-process"];

mkdirSync(ARTIFACTS, { recursive: true });
rmSync(REPORT, { force: true });
const t0 = performance.now();
const seconds = (from: number) => ((performance.now() - from) / 1000).toFixed(0);
const build = Bun.spawnSync([process.execPath, "scripts/build.ts", "--if-stale"], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
console.log(`build: ${seconds(t0)} s`);
if (build.exitCode !== 0) {
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const fast = process.argv.includes("--fast");
const args = process.argv.slice(2).filter((a) => a !== "--fast");
// Cached inputs (bed root, board kernels) are made here, outside every test's time limit.
if (!fast) {
  const t1 = performance.now();
  const prepare = Bun.spawnSync([process.execPath, "scripts/_prepare-tests.ts"], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
  if (prepare.exitCode !== 0) console.error("prepare: failed; the tests that need its inputs will say why");
  console.log(`prepare (bed root, preflight chroot, board and VM parts): ${seconds(t1)} s`);
}
const proc = Bun.spawn(
  [process.execPath, "test", "--timeout", "180000", "--reporter=junit", `--reporter-outfile=${REPORT}`, ...(fast ? FAST_TIER : []), ...args],
  { cwd: ROOT, stdout: "inherit", stderr: "inherit", env: { ...process.env } },
);
const code = await proc.exited;
let passed = 0;
let failed = 0;
let skipped = 0;
/** whys are the failed cases' names and first message lines, printed last so a log's tail says why (bun prints them far above). */
const whys: string[] = [];
if (existsSync(REPORT)) {
  const xml = readFileSync(REPORT, "utf8");
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = m[3] ?? "";
    const failure = /<(failure|error)\b[^>]*>([\s\S]*?)<\/\1>/.exec(body) ?? /<(failure|error)\b[^>]*\/>/.exec(body);
    if (failure) {
      failed++;
      const attr = (name: string) => unescapeXml(new RegExp(`\\b${name}="([^"]*)"`).exec(m[1] ?? "")?.[1] ?? "?");
      const text = unescapeXml(failure[2] ?? "").split("\n").slice(0, 25).join("\n  ");
      whys.push(`(fail) ${attr("file")} > ${attr("name")}\n  ${text}`);
    } else if (/<skipped\b/.test(body)) skipped++;
    else passed++;
  }
}
if (whys.length) console.log(`\nwhy they failed (the first lines of each failure):\n${whys.join("\n")}\n`);
if (code !== 0 && failed === 0) failed = 1; // a crash or load error outside any test case
if (skipped) console.log(`${skipped} skipped (not counted as passed)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(code === 0 && failed === 0 ? 0 : 1);

/** unescapeXml undoes the five XML entities and numeric references in a JUnit attribute or text. */
function unescapeXml(s: string): string {
  return s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
}
