/**
 * The bed: real Debian hosts booted with systemd in systemd-nspawn, on a
 * bridge of their own, for the journeys a user takes with unibus (install.sh,
 * systemctl, journalctl, unibus status, a NATS client on the LAN).
 *
 *   await using bed = await Bed.create(3);   // bridge + three booted boxes
 *   await bed.boxes[0].mustSh("systemctl is-active unibus");
 *
 * Never start systemd on the machine itself: only inside nspawn on the bed's
 * own root (its boot clean-up would empty the machine's /tmp).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN_X64, IN_CI, ROOT } from "../_helpers.ts";
import { stoppingSignal, tearDownOnSignal } from "../_teardown.ts";
import { BED_CGROUP, Box, BOX_DIR_PREFIX, cgroupRoots, removeCgroups } from "./box.ts";
import { Bridge, BRIDGE_PREFIX } from "./bridge.ts";
import { run } from "./exec.ts";
import { ownerOf } from "./names.ts";
import { bedRoot } from "./root.ts";

export { Box } from "./box.ts";
export { Bridge } from "./bridge.ts";

/** BOX_SRC is where a box gets unibus's files, as a user copies them from a release or a PC. */
export const BOX_SRC = "/root/unibus";

/** bedMissing names what this machine lacks to run the bed, or undefined when it has it all. */
export function bedMissing(): string | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") return `the bed boots x86-64 Debian hosts (this is ${process.platform} ${process.arch})`;
  if (process.getuid?.() !== 0) return "the bed must run as root (overlays, bridges, systemd-nspawn)";
  for (const [tool, pkg] of [["systemd-nspawn", "systemd-container"], ["debootstrap", "debootstrap"], ["nsenter", "util-linux"], ["ip", "iproute2"]] as const) {
    if (!Bun.which(tool)) return `${tool} is not installed (apt-get install ${pkg})`;
  }
  if (!readFileSync("/proc/filesystems", "utf8").includes("overlay")) return "the kernel has no overlay file system";
  if (!existsSync(BIN_X64)) return `${BIN_X64} is missing: run npm run build`;
  return undefined;
}

/**
 * bedTest is `test` when the bed can run; otherwise, with CI=true, a test that
 * fails naming what is missing, and elsewhere a skipped test with a printed note.
 */
export function bedTest(): (name: string, fn: () => Promise<void>, timeoutMs?: number) => void {
  const { test } = require("bun:test") as typeof import("bun:test");
  const missing = bedMissing();
  if (!missing) return test;
  if (IN_CI) return (name, _fn, timeoutMs) => test(name, () => { throw new Error(`the bed cannot run in CI: ${missing}`); }, timeoutMs);
  console.log(`skipping bed tests (real hosts under systemd-nspawn): ${missing}`);
  return test.skip;
}

/** LIVE holds the beds of this process not yet disposed; a signal removes them (tests/_teardown.ts). */
const LIVE = new Set<Bed>();
/** forgetBeds, while beds are live, unregisters their signal teardown. */
let forgetBeds: (() => void) | undefined;

/** watchBed adds a bed to LIVE; the first one registers the teardown that removes every live bed and this process's leftovers. */
function watchBed(bed: Bed): void {
  LIVE.add(bed);
  forgetBeds ??= tearDownOnSignal("the bed's boxes and bridges", async () => {
    await Promise.all([...LIVE].map((b) => b.dispose()));
    await removeLeftovers((pid) => pid === process.pid);
  });
}

/** Bed is one test's bridge and boxes; dispose tears all of it down, also after a failure. */
export class Bed {
  private constructor(readonly bridge: Bridge, readonly boxes: Box[]) {
    watchBed(this);
  }

  /** create builds (once) the cached root, makes a bridge and boots `count` boxes named box-1… */
  static async create(count: number, names?: string[]): Promise<Bed> {
    if (stoppingSignal()) throw new Error("the test run is being stopped: no new bed");
    await removeStale();
    const root = await bedRoot();
    const bridge = await Bridge.create();
    const bed = new Bed(bridge, []);
    try {
      const t0 = performance.now();
      const boxes = await Promise.all(Array.from({ length: count }, (_, i) => Box.boot({ root, bridge, name: names?.[i] ?? `box-${i + 1}`, index: i })
        .then((box) => (bed.boxes[i] = box))));
      console.log(`bed: ${count} box${count === 1 ? "" : "es"} booted to running in ${Math.round(performance.now() - t0)} ms (${boxes.map((b) => `${b.name} ${b.bootMs} ms`).join(", ")})`);
    } catch (err) {
      await bed.dispose();
      throw err;
    }
    return bed;
  }

  /**
   * replaceBox is a box whose disk is gone: box `index` is powered off and its
   * overlay deleted, and a new one with the same host name and address boots
   * from the clean root in its place.
   */
  async replaceBox(index: number): Promise<Box> {
    const old = this.boxes[index];
    if (!old) throw new Error(`the bed has no box ${index}`);
    if (stoppingSignal() || this.#teardown) throw new Error("the bed is being removed: no new box");
    await old.dispose();
    const box = await Box.boot({ root: await bedRoot(), bridge: this.bridge, name: old.name, index });
    this.boxes[index] = box;
    return box;
  }

  /** dispose powers off every box, removes their overlays and the bridge; safe to call twice. */
  dispose(): Promise<void> {
    // One teardown however often it is asked for (afterAll, a failed create, a signal meanwhile).
    this.#teardown ??= this.#tearDown().finally(() => {
      LIVE.delete(this);
      if (LIVE.size === 0) {
        forgetBeds?.();
        forgetBeds = undefined;
      }
    });
    return this.#teardown;
  }

  #teardown?: Promise<void>;

  async #tearDown(): Promise<void> {
    await Promise.all(this.boxes.filter(Boolean).map((b) => b.dispose().catch((err) => console.error(`bed: cannot remove box ${b.name}: ${err}`))));
    await this.bridge.dispose();
    // This process's cgroup folder, when no other bed of it still has boxes there.
    for (const root of cgroupRoots()) await run(["rmdir", join(root, BED_CGROUP, String(process.pid))]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

/**
 * copyUnibus puts what a user copies onto a box into BOX_SRC: the executable
 * (renamed as a release names it) and install.sh.
 */
export function copyUnibus(box: Box, binary = BIN_X64): void {
  const dest = box.path(BOX_SRC);
  mkdirSync(dest, { recursive: true });
  copyFileSync(binary, join(dest, "unibus-linux-x64"));
  copyFileSync(join(ROOT, "install.sh"), join(dest, "install.sh"));
  for (const f of ["unibus-linux-x64", "install.sh"]) Bun.spawnSync(["chmod", "0755", join(dest, f)]);
}

/** alive is whether a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * removeStale removes what an earlier, killed test run left: bridges,
 * overlays and cgroups whose owning process is gone.
 */
function removeStale(): Promise<void> {
  return removeLeftovers((pid) => !alive(pid));
}

/**
 * removeLeftovers removes the boxes (their nspawn, overlay and folder),
 * bridges and cgroups of every owner pid `remove` picks.
 */
async function removeLeftovers(remove: (pid: number) => boolean): Promise<void> {
  const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n");
  for (const entry of readdirSync(tmpdir())) {
    const owner = new RegExp(`^${BOX_DIR_PREFIX}(\\d+)-`).exec(entry)?.[1];
    if (!owner || !remove(Number(owner))) continue;
    const merged = join(tmpdir(), entry, "merged");
    // A box whose test runner was killed may still run: its nspawn's command line names the folder.
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`--directory=${merged}`)) process.kill(Number(pid), "SIGTERM");
      } catch {
        // gone
      }
    }
    if (mounts.some((m) => m.split(" ")[1] === merged)) await run(["umount", "--lazy", merged]);
    await run(["rm", "-rf", join(tmpdir(), entry)]);
  }
  for (const root of cgroupRoots()) {
    const dir = join(root, BED_CGROUP);
    if (!existsSync(dir)) continue;
    for (const owner of readdirSync(dir)) {
      if (/^\d+$/.test(owner) && remove(Number(owner))) await removeCgroups([join(dir, owner)]);
    }
  }
  const links = (await run(["ip", "-o", "link", "show", "type", "bridge"])).stdout;
  for (const m of links.matchAll(/^\d+: ([^:@\s]+)[:@]/gm)) {
    const owner = ownerOf(BRIDGE_PREFIX, m[1]!);
    if (owner !== undefined && remove(owner)) await run(["ip", "link", "del", m[1]!]);
  }
}
