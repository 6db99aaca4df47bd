/**
 * The backup schedule on a fake clock: the first backup a few minutes after
 * the schedule started, then every period after the last success, a failure
 * retried sooner and recorded for status, the oldest scheduled files deleted
 * beyond keep (manual ones never), a restart keeping the rhythm, and nothing
 * at all when [backup] is off.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseConfigText, type UnibusConfig } from "../../lib/config/load.ts";
import { BackupSchedule, FIRST_BACKUP_DELAY_MS, RETRY_AFTER_MS, RETRY_AFTER_START_MS, type ScheduleClock } from "../../lib/backup/schedule.ts";
import { readBackupState } from "../../lib/backup/state.ts";
import { tempDir } from "../_helpers.ts";

const H = 3_600_000;
let dir: ReturnType<typeof tempDir>;
let config: UnibusConfig;

/** FakeClock runs timers only when the test advances it. */
class FakeClock implements ScheduleClock {
  t = Date.parse("2026-12-01T00:00:00Z");
  timers: { at: number; fn: () => void }[] = [];
  now = () => this.t;
  setTimer = (fn: () => void, ms: number) => { const h = { at: this.t + ms, fn }; this.timers.push(h); return h; };
  clearTimer = (h: unknown) => { this.timers = this.timers.filter((x) => x !== h); };
  /** advance moves the clock by ms, firing each timer that comes due, in order, and letting its backup finish. */
  async advance(ms: number, schedule: BackupSchedule): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = Math.max(this.t, next.at);
      next.fn();
      await Bun.sleep(0);
      await schedule.settled();
    }
    this.t = end;
  }
}

function setup(extra = "") {
  const clock = new FakeClock();
  const taken: number[] = [];
  let fail: string | undefined;
  const schedule = new BackupSchedule({
    config: () => config,
    clock,
    log: { info: () => {}, warn: () => {} },
    take: async (out) => {
      taken.push(clock.now());
      if (fail) throw new Error(fail);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, "backup");
      return 6;
    },
  });
  config = parseConfigText(`[node]\nname = "pi-1"\ndata_dir = "data"\n${extra}`, join(dir.path, "node.toml"), {});
  return { clock, taken, schedule, setFail: (m: string | undefined) => { fail = m; } };
}

beforeEach(() => { dir = tempDir("unibus-schedule-"); });
afterEach(() => dir[Symbol.dispose]());

test("the first backup comes a few minutes after the schedule started, then every 12 hours", async () => {
  const { clock, taken, schedule } = setup();
  const t0 = clock.now();
  schedule.start();
  await clock.advance(FIRST_BACKUP_DELAY_MS - 1_000, schedule);
  expect(taken).toEqual([]);
  await clock.advance(61_000, schedule);
  expect(taken).toHaveLength(1);
  expect(taken[0]! - t0).toBeGreaterThanOrEqual(FIRST_BACKUP_DELAY_MS);
  expect(taken[0]! - t0).toBeLessThanOrEqual(FIRST_BACKUP_DELAY_MS + 60_000);
  await clock.advance(36 * H, schedule);
  expect(taken).toHaveLength(4);
  const gaps = taken.slice(1).map((t, i) => t - taken[i]!);
  for (const g of gaps) expect(g).toBeGreaterThanOrEqual(12 * H);
  for (const g of gaps) expect(g).toBeLessThanOrEqual(12 * H + 60_000);
  const state = readBackupState(config.node.dataDir)!;
  expect(state.lastSuccessAt).toBeGreaterThanOrEqual(taken[3]!);
  expect(state.lastFile).toMatch(/unibus-backup-pi-1-\d{8}T\d{6}Z\.tar$/);
  schedule.stop();
});

test("keep deletes the oldest scheduled backups and never a manual one", async () => {
  const { clock, schedule } = setup("[backup]\nkeep = 2\n");
  mkdirSync(join(dir.path, "data", "backups"), { recursive: true });
  writeFileSync(join(dir.path, "data", "backups", "unibus-backup-pi-1-20200101T000000Z-manual.tar"), "manual");
  schedule.start();
  await clock.advance(5 * 12 * H, schedule);
  const files = readdirSync(join(dir.path, "data", "backups")).sort();
  expect(files.filter((f) => f.endsWith("-manual.tar"))).toHaveLength(1);
  expect(files.filter((f) => /Z\.tar$/.test(f))).toHaveLength(2);
  schedule.stop();
});

test("a failure is recorded for status and retried after 15 minutes, not 12 hours", async () => {
  const { clock, taken, schedule, setFail } = setup();
  schedule.start();
  setFail("cannot write: the disk is full");
  await clock.advance(FIRST_BACKUP_DELAY_MS + 60_000, schedule);
  expect(taken).toHaveLength(1);
  const failed = readBackupState(config.node.dataDir)!;
  expect(failed.lastError).toBe("cannot write: the disk is full");
  expect(failed.lastSuccessAt).toBeUndefined();
  setFail(undefined);
  await clock.advance(RETRY_AFTER_MS + 60_000, schedule);
  expect(taken).toHaveLength(2);
  expect(taken[1]! - taken[0]!).toBeGreaterThanOrEqual(RETRY_AFTER_MS);
  expect(readBackupState(config.node.dataDir)!.lastSuccessAt).toBeDefined();
  schedule.stop();
});

test("a failed backup is retried a minute after a restart (status's fix ends with one), not 15 minutes after the failure", async () => {
  const first = setup();
  first.schedule.start();
  first.setFail("EACCES: permission denied");
  await first.clock.advance(FIRST_BACKUP_DELAY_MS + 60_000, first.schedule);
  first.schedule.stop();
  const failedAt = readBackupState(config.node.dataDir)!.lastAttemptAt!;
  const again = setup();
  again.clock.t = failedAt + 2 * 60_000;
  again.schedule.start();
  expect(again.schedule.nextAt()).toBe(again.clock.t + RETRY_AFTER_START_MS);
  await again.clock.advance(RETRY_AFTER_START_MS + 1_000, again.schedule);
  expect(again.taken).toHaveLength(1);
  expect(readBackupState(config.node.dataDir)!.lastSuccessAt).toBeDefined();
  again.schedule.stop();
});

test("a restart keeps the rhythm: the next backup is 12 hours after the last success, not after the start", async () => {
  const first = setup();
  first.schedule.start();
  await first.clock.advance(FIRST_BACKUP_DELAY_MS + 60_000, first.schedule);
  first.schedule.stop();
  const lastSuccess = readBackupState(config.node.dataDir)!.lastSuccessAt!;
  const again = setup();
  again.clock.t = lastSuccess + 6 * H;
  again.schedule.start();
  expect(again.schedule.nextAt()).toBe(lastSuccess + 12 * H);
  await again.clock.advance(5 * H, again.schedule);
  expect(again.taken).toEqual([]);
  await again.clock.advance(H + 60_000, again.schedule);
  expect(again.taken).toHaveLength(1);
  again.schedule.stop();
});

test("[backup] enabled = false takes no backup and keeps no timer running toward one", async () => {
  const { clock, taken, schedule } = setup("[backup]\nenabled = false\n");
  schedule.start();
  expect(schedule.nextAt()).toBeUndefined();
  await clock.advance(48 * H, schedule);
  expect(taken).toEqual([]);
  expect(existsSync(join(dir.path, "data", "backups"))).toBe(false);
  schedule.stop();
});
