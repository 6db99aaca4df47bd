/**
 * _bun-floor.ts builds and measures the floor under unibus's memory: a Bun
 * `--compile` hello world (a timer keeps it alive), compiled with the same
 * flags as dist/, so the rss rows can say how much is unibus and how much is
 * the runtime every Bun executable pays.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { rssKiB } from "./_servers.ts";

const ROOT = resolve(import.meta.dir, "..");

/** buildBunFloor compiles the hello world once (cached in build/) and returns its path. */
export async function buildBunFloor(): Promise<string> {
  const dir = join(ROOT, "build", "bench-floor");
  const out = join(dir, `hello-${Bun.version}`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const src = join(dir, "hello.ts");
  writeFileSync(src, 'setInterval(() => {}, 1_000);\nconsole.log("hello");\n');
  const proc = Bun.spawn([process.execPath, "build", "--compile", "--minify", "--bytecode", "--format=esm", src, "--outfile", out], { stdout: "ignore", stderr: "inherit" });
  if ((await proc.exited) !== 0) throw new Error("compiling the Bun hello-world floor failed");
  return out;
}

/** bunFloorRssKiB runs the hello world, waits settleMs and returns its RSS in KiB. */
export async function bunFloorRssKiB(settleMs: number): Promise<number> {
  const proc = Bun.spawn([await buildBunFloor()], { stdout: "ignore", stderr: "ignore", stdin: "ignore" });
  try {
    await Bun.sleep(settleMs);
    return rssKiB(proc.pid);
  } finally {
    proc.kill();
    await proc.exited;
  }
}
