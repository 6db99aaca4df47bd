/**
 * clock.ts keeps a node from starting on a clock that is known to be wrong.
 * A Raspberry Pi has no real-time clock: at boot its time can be the epoch or
 * the last shutdown (fake-hwclock) until NTP syncs, which can be before the
 * CA's or the node certificate's notBefore. Starting then fails the
 * certificate checks (exit 2, and systemd gives up after five tries) or, worse,
 * issues a certificate dated in the past. So start waits for a sane clock.
 */
import { setTimeout as sleep } from "node:timers/promises";

/** ClockFloor is a moment the real time is certainly past, and where that knowledge comes from. */
export interface ClockFloor {
  at: Date;
  /** Said in the log: "this unibus build", "CA certificate /etc/unibus/certs/ca.pem". */
  source: string;
}

/** ClockWait describes a wait in progress, for the log and systemd's STATUS=. */
export interface ClockWait {
  now: Date;
  floor: ClockFloor;
  waitedMs: number;
  message: string;
}

/** ClockOptions are the seams: tests pass a fake clock and sleep. */
export interface ClockOptions {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called at the first check that finds the clock behind, then every progressEveryMs. */
  onWait?: (wait: ClockWait) => void;
  /** Ends the wait early (a stop during start); waitForSaneClock then returns false. */
  stopped?: () => boolean;
  pollMs?: number;
  progressEveryMs?: number;
}

/** latestFloor is the floor furthest in the future, the one the clock must pass. */
export function latestFloor(floors: readonly ClockFloor[]): ClockFloor | undefined {
  return floors.reduce<ClockFloor | undefined>((best, f) => (!best || f.at > best.at ? f : best), undefined);
}

/**
 * waitForSaneClock resolves true once the clock (ms since the epoch) is past
 * every floor, polling every pollMs (default 1 s), or false when stopped()
 * says the wait is no longer wanted. It never gives up by itself: the node
 * cannot do anything useful on a wrong clock, and NTP usually fixes it soon.
 */
export async function waitForSaneClock(floors: readonly ClockFloor[], options: ClockOptions = {}): Promise<boolean> {
  const now = options.now ?? Date.now;
  const pause = options.sleep ?? ((ms: number) => sleep(ms));
  const pollMs = options.pollMs ?? 1_000;
  const progressEveryMs = options.progressEveryMs ?? 30_000;
  const floor = latestFloor(floors);
  if (!floor) return true;
  const started = now();
  let lastReport = -Infinity;
  while (now() < floor.at.getTime()) {
    if (options.stopped?.()) return false;
    const t = now();
    if (t - lastReport >= progressEveryMs) {
      lastReport = t;
      options.onWait?.({
        now: new Date(t),
        floor,
        waitedMs: t - started,
        message: `waiting for the system clock: it says ${new Date(t).toISOString()}, before ${floor.at.toISOString()} (${floor.source}); waiting for NTP to set it (check: timedatectl)`,
      });
    }
    await pause(pollMs);
  }
  return true;
}
