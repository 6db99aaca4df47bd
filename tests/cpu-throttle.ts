/**
 * cpu-throttle.ts gives a test its own CPU-limited control group, a stand-in
 * for a slow board (an SD card, a Pi Zero): cgroup v2's cpu.max where the
 * unified hierarchy has the cpu controller, cgroup v1's CFS quota otherwise.
 * Needs root. Each test makes its own group (named with the test's pid) and
 * removes it, moving what is left back to the root group.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** CpuThrottle is one control group limited to a share of one CPU. */
export class CpuThrottle {
  readonly dir: string;
  readonly #root: string;

  /** percent is the share of one CPU the group may use (1-100). */
  constructor(name: string, percent: number) {
    const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers") && readFileSync("/sys/fs/cgroup/cgroup.controllers", "utf8").split(/\s+/).includes("cpu");
    this.#root = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/cpu";
    this.dir = join(this.#root, `${name}-${process.pid}`);
    mkdirSync(this.dir);
    const period = 100_000;
    const quota = Math.max(1_000, Math.round((period * percent) / 100));
    if (v2) {
      writeFileSync(join(this.dir, "cpu.max"), `${quota} ${period}`);
    } else {
      writeFileSync(join(this.dir, "cpu.cfs_period_us"), String(period));
      writeFileSync(join(this.dir, "cpu.cfs_quota_us"), String(quota));
    }
  }

  /** available tells whether this machine lets the test make a CPU-limited group (root, a cpu controller). */
  static available(): boolean {
    const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers") && readFileSync("/sys/fs/cgroup/cgroup.controllers", "utf8").split(/\s+/).includes("cpu");
    return process.getuid?.() === 0 && (v2 || existsSync("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"));
  }

  /** add moves a process (all its threads) into the group. */
  add(pid: number): void {
    writeFileSync(join(this.dir, "cgroup.procs"), String(pid));
  }

  /** throttledPeriods is how many scheduler periods the limit held the group back (cpu.stat nr_throttled). */
  throttledPeriods(): number {
    return Number(/^nr_throttled (\d+)/m.exec(readFileSync(join(this.dir, "cpu.stat"), "utf8"))?.[1] ?? 0);
  }

  /** pids lists the processes in the group. */
  pids(): number[] {
    return readFileSync(join(this.dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  }

  /** Symbol.dispose moves what is left back to the root group and removes the group. */
  [Symbol.dispose](): void {
    for (const pid of this.pids()) {
      try {
        writeFileSync(join(this.#root, "cgroup.procs"), String(pid));
      } catch {
        // exited meanwhile
      }
    }
    try {
      rmdirSync(this.dir);
    } catch {
      // a process still leaving; the kernel frees the group when it is empty and removed later
    }
  }
}
