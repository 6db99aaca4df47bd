/**
 * runtime-memory.ts keeps the long-running node small, which matters on a
 * 1 GiB Raspberry Pi where the control plane should cost less than the bus.
 * Two Bun/JSC-specific levers, measured in `npm run bench` (rss rows) and on
 * the emulated boards:
 *
 * - JSC's optimizing JIT tiers (baseline, DFG, FTL) cost memory (compiled
 *   code, compiler threads and the compilers' own text pages) for a process
 *   that idles; the interpreter is ample for a supervisor, and start-up costs
 *   less CPU without compiling. JSC reads its options once, from the
 *   environment, before any JavaScript runs: the systemd unit and
 *   scripts/start.sh set them; started any other way, `unibus run`
 *   re-executes itself in place with them (execve: same pid, so systemd and
 *   launchers see no difference; it costs one runtime start). BUN_JSC_useJIT stays on:
 *   bun:ffi and the RegExp JIT need it (useJIT=0 doubles idle CPU). Any
 *   BUN_JSC_* variable set by the user means they chose: nothing is changed.
 * - Start-up touches code that idle never runs again (config, TLS and
 *   certificate code, the zstd extraction). Those clean, file-backed pages of
 *   the executable stay mapped; once the node is ready they are dropped from
 *   the process (madvise MADV_DONTNEED: they stay in the page cache and come
 *   back on a minor fault if used again), and the heap is collected.
 */
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, openSync, readFileSync, readSync, realpathSync } from "node:fs";

/** LEAN_JSC_ENV (also in packaging/unibus.service and scripts/start.sh) turns off JSC's JIT tiers but keeps the JIT itself (bun:ffi needs it). */
export const LEAN_JSC_ENV: Record<string, string> = { BUN_JSC_useBaselineJIT: "0", BUN_JSC_useDFGJIT: "0", BUN_JSC_useFTLJIT: "0" };

/**
 * reexecLean replaces this process with itself running args with
 * LEAN_JSC_ENV, unless the environment already names a JSC option. It
 * returns only when it did not re-execute (already chosen, or no execve).
 */
export function reexecLean(args: string[]): void {
  if (Object.keys(process.env).some((key) => key.startsWith("BUN_JSC_"))) return;
  const execve = (process as { execve?: (file: string, args: string[], env: Record<string, string | undefined>) => never }).execve;
  if (typeof execve !== "function") return;
  const self = Bun.main.startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, Bun.main];
  execve(process.execPath, [...self, ...args], { ...process.env, ...LEAN_JSC_ENV });
}

/** jscTiers names the JIT tiers this process runs with, for the log. */
export function jscTiers(): string {
  if (process.env.BUN_JSC_useJIT === "0") return "interpreter only";
  const off = Object.keys(LEAN_JSC_ENV).filter((key) => process.env[key] === "0").map((key) => key.replace("BUN_JSC_use", "").replace("JIT", ""));
  return off.length ? `JIT tiers off: ${off.join(", ")}` : "all JIT tiers";
}

const MADV_DONTNEED = 4;

/**
 * trimStartupMemory collects the heap and drops the executable's read-only
 * pages (code and constants) from this process; it returns how many KiB of
 * RSS that released. Writable mappings are never touched.
 */
export function trimStartupMemory(): number {
  const before = rssKiB();
  Bun.gc(true);
  // bun:ffi needs the JIT: without it only the heap is collected.
  if (process.env.BUN_JSC_useJIT !== "0") dropCleanExecutablePages();
  return Math.max(0, before - rssKiB());
}

/**
 * dropCleanExecutablePages madvises away the executable's pages that are
 * still the file's own bytes. /proc/self/pagemap tells them apart per page:
 * a page written since it was mapped (relocations, JSC's configuration, any
 * data) was copied and is anonymous; only file pages (bit 61) are dropped, so
 * nothing the process wrote is ever lost.
 */
function dropCleanExecutablePages(): void {
  let exe: string;
  let pagemap: number;
  try {
    exe = realpathSync("/proc/self/exe");
    pagemap = openSync("/proc/self/pagemap", "r");
  } catch {
    return;
  }
  const runs: [bigint, bigint][] = [];
  try {
    const pageSize = BigInt(pageSizeBytes());
    for (const line of readFileSync("/proc/self/maps", "utf8").split("\n")) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ [0-9a-f]+ \S+ \d+\s+(.+)$/.exec(line);
      if (!m || m[3] !== exe) continue;
      const start = BigInt(`0x${m[1]}`);
      const pages = Number((BigInt(`0x${m[2]}`) - start) / pageSize);
      const entries = new BigUint64Array(pages);
      readSync(pagemap, entries, 0, pages * 8, Number((start / pageSize) * 8n));
      let runStart = -1;
      for (let i = 0; i <= pages; i++) {
        const e = i < pages ? entries[i]! : 0n;
        const clean = (e & PRESENT) !== 0n && (e & FILE_PAGE) !== 0n;
        if (clean && runStart < 0) runStart = i;
        if (!clean && runStart >= 0) {
          runs.push([start + BigInt(runStart) * pageSize, BigInt(i - runStart) * pageSize]);
          runStart = -1;
        }
      }
    }
  } finally {
    closeSync(pagemap);
  }
  if (runs.length === 0) return;
  const { madvise } = dlopen("libc.so.6", {
    madvise: { args: [FFIType.u64, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  }).symbols;
  for (const [addr, len] of runs) madvise(addr, len, MADV_DONTNEED);
}

const PRESENT = 1n << 63n;
const FILE_PAGE = 1n << 61n;

function pageSizeBytes(): number {
  const m = /^KernelPageSize:\s+(\d+) kB/m.exec(readFileSync("/proc/self/smaps_rollup", "utf8")) ?? /^KernelPageSize:\s+(\d+) kB/m.exec(readFileSync("/proc/self/smaps", "utf8"));
  return m ? Number(m[1]) * 1024 : 4096;
}

function rssKiB(): number {
  const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) : 0;
}
