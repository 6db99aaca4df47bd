/**
 * test.ts is `npm test`: build the executables when stale, run the whole
 * suite with bun test, and end with the plain line `N passed, N failed`
 * counted from the JUnit reports (bun prints its own summary on stderr).
 *
 * The whole suite runs in two lanes at once (scripts/_test-lanes.ts): the
 * fast tier and then the emulated machines in one, every other file in the
 * other; `prepare` (the cached inputs) runs beside the fast tier. Each
 * lane's lines are prefixed with its name. UNIBUS_TEST_LANES=1 runs one
 * lane, one file after another, the way it ran before.
 *
 * `npm run test:fast` (--fast) runs the fast tier only: tests/unit (pure
 * logic, fake time or files) and tests/in-process (nodes started inside the
 * test process, tests/_node-harness.ts), without preparing the bed's
 * cached inputs. `npm test -- FILTER…` runs bun test once with the filters.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { FAST_TIER, planLanes, type Lane } from "./_test-lanes.ts";

const ROOT = resolve(import.meta.dir, "..");
const ARTIFACTS = join(ROOT, "tests", "artifacts");

mkdirSync(ARTIFACTS, { recursive: true });
for (const f of readdirSync(ARTIFACTS)) if (/^junit.*\.xml$/.test(f)) rmSync(join(ARTIFACTS, f), { force: true });
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
const reports: string[] = [];
/** children are the running bun test and prepare processes: a stop signal to npm test reaches them too (only a terminal's Ctrl-C reaches the whole group by itself). */
const children = new Set<{ kill(signal?: NodeJS.Signals): void; exited: Promise<number> }>();
/** interruptedBy is the signal that stopped the run, for the summary: a stopped run counts only what finished. */
let interruptedBy: NodeJS.Signals | undefined;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    interruptedBy ??= signal;
    for (const child of children) child.kill(signal);
  });
}
let codes: number[];

if (fast || args.length > 0) {
  codes = [await bunTest(fast ? FAST_TIER : args, "junit.xml", "")];
} else {
  // Cached inputs (bed root, board kernels) are made outside every test's time limit, beside the fast tier.
  const t1 = performance.now();
  const prepare = Bun.spawn([process.execPath, "scripts/_prepare-tests.ts"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  watch(prepare);
  void prefixLines(prepare.stdout, "prepare", process.stdout);
  void prefixLines(prepare.stderr, "prepare", process.stderr);
  const prepared = prepare.exited.then((code) => {
    if (code !== 0) console.error("prepare: failed; the tests that need its inputs will say why");
    console.log(`prepare (bed root, preflight chroot, board and VM parts): ${seconds(t1)} s`);
  });
  const files = [...new Bun.Glob("tests/**/*.test.{ts,tsx}").scanSync({ cwd: ROOT })].filter((f) => !f.startsWith("tests/artifacts/")).sort();
  let lanes = planLanes(files);
  if (process.env.UNIBUS_TEST_LANES === "1") lanes = [{ name: "all", steps: lanes.flatMap((l) => l.steps).sort((a, b) => Number(a.needsPrepare) - Number(b.needsPrepare)) }];
  codes = (await Promise.all(lanes.map((lane) => runLane(lane, prepared)))).flat();
}

let passed = 0;
let failed = 0;
let skipped = 0;
/** whys are the failed cases' names and first message lines, printed last so a log's tail says why (bun prints them far above). */
const whys: string[] = [];
for (const report of reports) {
  if (!existsSync(report)) continue;
  const xml = readFileSync(report, "utf8");
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
const ok = codes.every((c) => c === 0);
if (whys.length) console.log(`\nwhy they failed (the first lines of each failure):\n${whys.join("\n")}\n`);
if (!ok && failed === 0) failed = 1; // a crash or load error outside any test case
console.log(`all tests: ${seconds(t0)} s`);
if (interruptedBy) console.log(`interrupted by ${interruptedBy}: each test process removed what it had made; a file stopped midway writes no report, so its passes are not counted`);
if (skipped) console.log(`${skipped} skipped (not counted as passed)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);

/**
 * runLane runs a lane's steps one after another, each as one `bun test`
 * with its own JUnit report; a step that needs the prepared inputs waits for
 * `prepared`. Returns each step's exit code. Lines are prefixed with the lane's name.
 */
async function runLane(lane: Lane, prepared: Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (const [i, step] of lane.steps.entries()) {
    if (step.needsPrepare) await prepared;
    const t = performance.now();
    out.push(await bunTest(step.files.map((f) => `./${f}`), `junit-${lane.name}-${i + 1}.xml`, lane.name));
    console.log(`${lane.name}| step ${i + 1} of ${lane.steps.length} (${step.files.length} files): ${seconds(t)} s`);
  }
  return out;
}

/** bunTest runs one `bun test` over the given paths or filters, its JUnit report in tests/artifacts/report; tag prefixes its lines when set. */
async function bunTest(paths: string[], report: string, tag: string): Promise<number> {
  const outfile = join(ARTIFACTS, report);
  reports.push(outfile);
  const piped = tag !== "";
  const proc = Bun.spawn(
    [process.execPath, "test", "--timeout", "180000", "--reporter=junit", `--reporter-outfile=${outfile}`, ...paths],
    { cwd: ROOT, stdout: piped ? "pipe" : "inherit", stderr: piped ? "pipe" : "inherit", env: { ...process.env } },
  );
  watch(proc);
  if (piped) await Promise.all([prefixLines(proc.stdout as ReadableStream<Uint8Array>, tag, process.stdout), prefixLines(proc.stderr as ReadableStream<Uint8Array>, tag, process.stderr)]);
  return await proc.exited;
}

/** watch keeps a child in `children` until it exits. */
function watch(child: { kill(signal?: NodeJS.Signals): void; exited: Promise<number> }): void {
  children.add(child);
  void child.exited.then(() => children.delete(child));
}

/** prefixLines copies a stream to `to` line by line (node:readline), each line prefixed with `tag| ` (two lanes share one terminal). */
async function prefixLines(stream: ReadableStream<Uint8Array>, tag: string, to: NodeJS.WriteStream): Promise<void> {
  for await (const line of createInterface({ input: Readable.fromWeb(stream as unknown as WebReadableStream<Uint8Array>), crlfDelay: Infinity })) {
    to.write(`${tag}| ${line}\n`);
  }
}

/** unescapeXml undoes the five XML entities and numeric references in a JUnit attribute or text. */
function unescapeXml(s: string): string {
  return s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
}
