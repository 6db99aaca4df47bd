/**
 * go-natsprobe.ts builds tests/go/natsprobe with Debian's Go and Debian's
 * nats.go (golang-go, golang-github-nats-io-go-nats-dev: offline, GOPATH
 * mode) once per source version, and runs it. Tests use it to prove that the
 * official Go client, not only nats.js, works against unibus.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, prerequisite } from "./_helpers.ts";

const SOURCE_DIR = join(ROOT, "tests", "go", "natsprobe");
const GOPATH = "/usr/share/gocode";

/** goClientAvailable tells whether Debian's Go and nats.go are installed (prerequisite: fails in CI). */
export function goClientAvailable(): boolean {
  return prerequisite(Bun.which("go") !== null && existsSync(join(GOPATH, "src", "github.com", "nats-io", "nats.go")), "Debian packages golang-go and golang-github-nats-io-go-nats-dev");
}

/** buildNatsProbe compiles natsprobe (cached by the source's hash) and returns the binary's path. */
export function buildNatsProbe(): string {
  const source = readFileSync(join(SOURCE_DIR, "main.go"));
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 12);
  const dir = join(tmpdir(), "unibus-natsprobe");
  const out = join(dir, `natsprobe-${hash}`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const r = Bun.spawnSync(["go", "build", "-o", out, "."], {
    cwd: SOURCE_DIR,
    env: { ...process.env, GO111MODULE: "off", GOPATH, GOCACHE: join(dir, "cache"), GOFLAGS: "" },
  });
  if (r.exitCode !== 0) throw new Error(`go build natsprobe failed:\n${r.stderr.toString()}`);
  return out;
}

/** runNatsProbe runs natsprobe and returns exit code, stdout and stderr. */
export async function runNatsProbe(bin: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([bin, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore", timeout: timeoutMs });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}
