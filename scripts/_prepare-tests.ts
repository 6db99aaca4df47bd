/**
 * _prepare-tests.ts fetches and builds the suite's cached inputs before any
 * test runs: the real-host bed's Debian root (debootstrap, about a minute)
 * the emulated boards' kernels, busybox and 32-bit userland packages, and
 * the power-loss VMs' amd64 kernel, modules and busybox.
 * Done here, their download and build time never counts against a test's
 * time limit (on a busy machine debootstrap alone took 9 minutes). A failure
 * is reported and left to the tests that need the input, which then fail
 * with their own clear message (or skip outside CI).
 */
import { existsSync } from "node:fs";
import { fetchBoardPart, fetchUserlandDeb, type BoardPart, type UserlandDeb } from "./fetch-boards.ts";
import { fetchVmParts } from "./fetch-vm.ts";
import { bedRoot } from "../tests/bed/root.ts";
import { bullseyeRoot } from "../tests/bullseye-root.ts";

function have(...paths: string[]): boolean {
  return paths.every((p) => existsSync(p));
}

/**
 * prepareTestInputs builds or verifies every cached input whose tools are on
 * this machine, in two lanes at once (each mostly waits on the mirror and
 * the disk): the bed root alone, and everything else one after the other.
 */
export async function prepareTestInputs(): Promise<void> {
  const bed: [string, boolean, () => Promise<unknown>][] = [
    ["real-host bed root", have("/usr/sbin/debootstrap", "/usr/bin/systemd-nspawn"), () => bedRoot()],
  ];
  const rest: [string, boolean, () => Promise<unknown>][] = [
    ["Debian 11 chroot for the preflight test", have("/usr/sbin/debootstrap"), () => bullseyeRoot()],
    ["emulated board parts", have("/usr/bin/qemu-system-aarch64"), async () => {
      for (const part of ["busybox", "kernel-16k", "kernel-4k"] as BoardPart[]) await fetchBoardPart(part);
    }],
    ["power-loss VM kernel, modules and busybox", have("/usr/bin/qemu-system-x86_64"), () => fetchVmParts()],
    ["32-bit userland for the preflight test", true, async () => {
      for (const deb of ["armhf-busybox", "armhf-bash", "armhf-libc6", "armhf-libtinfo6"] as UserlandDeb[]) await fetchUserlandDeb(deb);
    }],
  ];
  const lane = async (steps: typeof bed) => {
    for (const [what, available, step] of steps) {
      if (!available) continue;
      try {
        await step();
      } catch (err) {
        process.stderr.write(`prepare: ${what} could not be prepared; the tests that need it will say so: ${(err as Error).message.split("\n")[0]}\n`);
      }
    }
  };
  await Promise.all([lane(bed), lane(rest)]);
}

if (import.meta.main) await prepareTestInputs();
