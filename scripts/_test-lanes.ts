/**
 * _test-lanes.ts splits `npm test` over two `bun test` processes that run
 * at once, so the whole suite takes about as long as its longer half.
 *
 * Why two and how they are split: most of the slow tier waits (on elections,
 * timers, boots), and the emulated machines (qemu-system guests under TCG,
 * one busy core each) are the only files that keep a core busy for minutes.
 * Lane "machines" runs the fast tier while `prepare` builds the cached
 * inputs, then every file that boots a machine from them, one after
 * another: the emulated ones first (two emulators never compete), then the
 * bed's booted Debian hosts and the preflight chroot. Lane "processes" runs
 * every other file (unibus processes on loopback and in network
 * namespaces) and never waits for `prepare`. Measured in one CI run, the
 * two lanes take about 20 minutes each.
 * Files do not share names: every network namespace, bridge, subnet, port
 * and folder a test makes is drawn per process or per run.
 */
import { basename } from "node:path";

/** LaneStep is one `bun test` run of a lane: its files, and whether it waits for `prepare`. */
export interface LaneStep { files: string[]; needsPrepare: boolean }

/** Lane is a named list of steps run one after another. */
export interface Lane { name: string; steps: LaneStep[] }

/** FAST_TIER are the folders of the fast tier: no compiled executable of their own to start, no boxes, no boards. */
export const FAST_TIER = ["tests/unit", "tests/in-process"];

/** isEmulated tells whether a test file boots qemu-system guests (the power-loss VMs, the emulated Raspberry Pis). */
export function isEmulated(file: string): boolean {
  return /^(power-loss-|emulated-pi-boards)/.test(basename(file));
}

/** needsPrepare tells whether a test file reads an input `prepare` makes (bed root, preflight chroot, board or VM parts). */
export function needsPrepare(file: string): boolean {
  return isEmulated(file) || /^(bed-|preflight-)/.test(basename(file));
}

/** isFastTier tells whether a file belongs to the fast tier (tests/unit, tests/in-process). */
export function isFastTier(file: string): boolean {
  return FAST_TIER.some((dir) => file.startsWith(`${dir}/`));
}

/**
 * planLanes splits test files (paths relative to the repository, e.g.
 * "tests/unit/x.test.ts") into the two lanes described above. Every file
 * lands in exactly one step; empty steps are left out. Within a step the
 * emulated files come first, then the others in the order given.
 */
export function planLanes(files: readonly string[]): Lane[] {
  const fast = files.filter(isFastTier);
  const slow = files.filter((f) => !isFastTier(f));
  const machines: LaneStep[] = [
    { files: fast, needsPrepare: false },
    { files: [...slow.filter(isEmulated), ...slow.filter((f) => needsPrepare(f) && !isEmulated(f))], needsPrepare: true },
  ];
  const processes: LaneStep[] = [{ files: slow.filter((f) => !needsPrepare(f)), needsPrepare: false }];
  const keep = (steps: LaneStep[]) => steps.filter((s) => s.files.length > 0);
  return [{ name: "machines", steps: keep(machines) }, { name: "processes", steps: keep(processes) }].filter((l) => l.steps.length > 0);
}
