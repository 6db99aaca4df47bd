/**
 * bullseye-root.ts makes the Debian 11 chroot the preflight test runs
 * install.sh and the executable in (glibc 2.31, older than nats-server
 * needs): debootstrap minbase, cached in vendor/rootfs/bullseye. It is made
 * by `npm test`'s prepare step beside the bed root, so its minute of
 * download and unpacking overlaps the bed's and counts against no test.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { debianMirror } from "../scripts/_apt-mirror.ts";
import { ROOT } from "./_helpers.ts";

/** BULLSEYE_ROOT is the cached chroot's folder. */
export const BULLSEYE_ROOT = join(ROOT, "vendor", "rootfs", "bullseye");

/**
 * bullseyeRoot returns BULLSEYE_ROOT, building it first when it is missing
 * (about a minute; one line when it starts and one when it is done, on
 * stderr). Made beside it and renamed when complete, so a half-made root is
 * never taken. Throws with debootstrap's last lines when it fails.
 */
export async function bullseyeRoot(): Promise<string> {
  if (existsSync(join(BULLSEYE_ROOT, "usr", "bin", "bash"))) return BULLSEYE_ROOT;
  const tmp = `${BULLSEYE_ROOT}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(BULLSEYE_ROOT, ".."), { recursive: true });
  const t0 = performance.now();
  process.stderr.write(`preflight chroot: debootstrap bullseye (minbase) into ${BULLSEYE_ROOT} (once; about a minute)\n`);
  const proc = Bun.spawn(["debootstrap", "--variant=minbase", "bullseye", tmp, debianMirror()], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (proc.exitCode !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`debootstrap bullseye failed (exit ${proc.exitCode}); its last lines:\n${(out + err).slice(-3000)}`);
  }
  rmSync(BULLSEYE_ROOT, { recursive: true, force: true });
  renameSync(tmp, BULLSEYE_ROOT);
  process.stderr.write(`preflight chroot: bullseye ready in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return BULLSEYE_ROOT;
}
