/**
 * host-requirements.ts checks, before a node writes or starts anything, that this host
 * can run it: the requirements measured on the shipped binaries that a host
 * can still fail once unibus itself is running. (A host without a 64-bit glibc
 * loader or /proc cannot start the executable at all; install.sh's
 * preflight_host tells those apart.) Each problem says what to install.
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { release } from "node:os";
import { dirname } from "node:path";
import { RuntimeError } from "./errors.ts";

/** GLIBC_MIN is the newest glibc symbol version the embedded nats-server (Debian 2.15) links (objdump -T). */
export const GLIBC_MIN = "2.34";
/** KERNEL_MIN is the oldest Linux kernel the Bun runtime supports. */
export const KERNEL_MIN = "5.1";
/** SUPPORTED_SYSTEMS is what README promises, in the words the errors use. */
export const SUPPORTED_SYSTEMS = "Raspberry Pi OS (64-bit) 12 bookworm or later on a Pi 3, 4, 5 or Zero 2 W; Debian 12 or later; Ubuntu 22.04 or later (x86-64 or arm64)";

/** HostFacts are the probed inputs, so the decision can be tested with any host's values. */
export interface HostFacts {
  /** glibc version of this process, undefined when unknown (then it is not judged). */
  glibc?: string;
  /** `uname -r`. */
  kernel: string;
  /** The data dir and the mount it lives on, with that mount's options. */
  dataDir: string;
  dataDirMount?: { mountPoint: string; options: string[] };
}

/** versionLess compares dotted versions numerically ("2.31" < "2.34", "5.10" > "5.1"). */
export function versionLess(a: string, b: string): boolean {
  const pa = a.split(/[.-]/).map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split(/[.-]/).map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < 3; i++) {
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) < (pb[i] ?? 0);
  }
  return false;
}

/** hostProblems lists why this host cannot run a node, each with its fix; empty when it can. */
export function hostProblems(f: HostFacts): string[] {
  const problems: string[] = [];
  if (f.glibc && versionLess(f.glibc, GLIBC_MIN)) {
    problems.push(`glibc ${f.glibc} is older than ${GLIBC_MIN}, which the embedded nats-server needs (Debian 11, Ubuntu 20.04 and Raspberry Pi OS 11 bullseye are too old): upgrade the OS`);
  }
  if (versionLess(f.kernel.replace(/[-+].*$/, ""), KERNEL_MIN)) {
    problems.push(`Linux kernel ${f.kernel} is older than ${KERNEL_MIN}, the oldest the Bun runtime inside unibus supports: upgrade the kernel or the OS`);
  }
  if (f.dataDirMount?.options.includes("noexec")) {
    problems.push(`data_dir ${f.dataDir} is on ${f.dataDirMount.mountPoint}, mounted noexec, and unibus runs nats-server from ${f.dataDir}/bin: remount ${f.dataDirMount.mountPoint} without noexec or set [node] data_dir to a folder on another file system`);
  }
  return problems;
}

/** mountOf finds the mount holding path in /proc/self/mountinfo text (the longest mount point that contains it). */
export function mountOf(path: string, mountinfo: string): { mountPoint: string; options: string[] } | undefined {
  let best: { mountPoint: string; options: string[] } | undefined;
  for (const line of mountinfo.split("\n")) {
    const fields = line.split(" ");
    if (fields.length < 6) continue;
    const mountPoint = fields[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    const inside = path === mountPoint || path.startsWith(mountPoint.endsWith("/") ? mountPoint : `${mountPoint}/`);
    if (inside && (!best || mountPoint.length >= best.mountPoint.length)) best = { mountPoint, options: fields[5]!.split(",") };
  }
  return best;
}

/** existingAncestor resolves the nearest folder of path that exists (the data dir may not exist yet). */
function existingAncestor(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return realpathSync(p);
}

/** probeHost gathers HostFacts from this process and /proc. */
export function probeHost(dataDir: string): HostFacts {
  const report = (process as { report?: { getReport?: () => { header?: { glibcVersionRuntime?: string } } } }).report;
  let mount: HostFacts["dataDirMount"];
  try {
    mount = mountOf(existingAncestor(dataDir), readFileSync("/proc/self/mountinfo", "utf8"));
  } catch { /* no /proc/self/mountinfo: nothing to judge */ }
  return { glibc: report?.getReport?.().header?.glibcVersionRuntime, kernel: release(), dataDir, dataDirMount: mount };
}

/** assertHostCanRun throws, naming every problem and the supported systems, when this host cannot run a node. */
export function assertHostCanRun(dataDir: string, facts: HostFacts = probeHost(dataDir)): void {
  const problems = hostProblems(facts);
  if (problems.length === 0) return;
  throw new RuntimeError(`this machine cannot run a unibus node:\n  - ${problems.join("\n  - ")}\n  supported: ${SUPPORTED_SYSTEMS}`);
}
