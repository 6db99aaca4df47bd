/**
 * PeriodicTask on fake timers: the first run at once, then an interval after
 * each run, runSoon coalescing while a run is in flight, and stop waiting for
 * that run, idempotent, with no run after it.
 */
import { describe, expect, test } from "bun:test";
import { PeriodicTask, type TimerApi } from "../../lib/periodic-task.ts";

/** FakeTimers hold set timers until advance() moves fake time past them. */
class FakeTimers implements TimerApi {
  now = 0;
  #next = 1;
  readonly pending = new Map<number, { at: number; fn: () => void }>();
  set(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  }
  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** advance moves time by ms, firing due timers in order and letting their promises settle. */
  async advance(ms: number): Promise<void> {
    const until = this.now + ms;
    for (;;) {
      await settle();
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = until;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** gate is a promise a test resolves by hand, to hold a run in flight. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => { open = r; });
  return { promise, open };
}

describe("PeriodicTask", () => {
  test("the first run starts at once, the next ones an interval after each run", async () => {
    const timers = new FakeTimers();
    const at: number[] = [];
    const task = new PeriodicTask({ run: async () => { at.push(timers.now); }, intervalMs: 1_000, timers });
    task.start();
    await timers.advance(0);
    expect(at).toEqual([0]);
    await timers.advance(999);
    expect(at).toEqual([0]);
    await timers.advance(2_001);
    expect(at).toEqual([0, 1_000, 2_000, 3_000]);
    await task.stop();
  });

  test("an interval given as a function is asked after every run", async () => {
    const timers = new FakeTimers();
    const at: number[] = [];
    let interval = 100;
    const task = new PeriodicTask({ run: async () => { at.push(timers.now); }, intervalMs: () => (interval *= 2), timers });
    task.start();
    await timers.advance(1_000);
    expect(at).toEqual([0, 200, 600]);
    await task.stop();
  });

  test("a run that throws is reported and the loop goes on", async () => {
    const timers = new FakeTimers();
    const errors: string[] = [];
    let runs = 0;
    const task = new PeriodicTask({ run: async () => { runs++; throw new Error(`boom ${runs}`); }, intervalMs: 10, onError: (e) => errors.push(e.message), timers });
    task.start();
    await timers.advance(20);
    expect(errors).toEqual(["boom 1", "boom 2", "boom 3"]);
    await task.stop();
  });

  test("runSoon while a run is in flight makes one more run right after it, however often it is called", async () => {
    const timers = new FakeTimers();
    const held = gate();
    let runs = 0;
    let concurrent = 0;
    let most = 0;
    const task = new PeriodicTask({
      run: async () => {
        runs++;
        most = Math.max(most, ++concurrent);
        if (runs === 1) await held.promise;
        concurrent--;
      },
      intervalMs: 60_000,
      timers,
    });
    task.start();
    await timers.advance(0);
    expect(task.running).toBe(true);
    task.runSoon();
    task.runSoon();
    task.runSoon();
    await timers.advance(0);
    expect(runs).toBe(1);
    held.open();
    await timers.advance(0);
    expect(runs).toBe(2);
    expect(most).toBe(1);
    await timers.advance(59_999);
    expect(runs).toBe(2);
    await timers.advance(1);
    expect(runs).toBe(3);
    await task.stop();
  });

  test("runSoon between runs runs at once and restarts the interval", async () => {
    const timers = new FakeTimers();
    const at: number[] = [];
    const task = new PeriodicTask({ run: async () => { at.push(timers.now); }, intervalMs: 1_000, timers });
    task.start();
    await timers.advance(400);
    task.runSoon();
    await timers.advance(1_000);
    expect(at).toEqual([0, 400, 1_400]);
    await task.stop();
  });

  test("stop waits for the run in flight and no run starts after it", async () => {
    const timers = new FakeTimers();
    const held = gate();
    let runs = 0;
    let finished = false;
    const task = new PeriodicTask({ run: async () => { runs++; await held.promise; finished = true; }, intervalMs: 10, timers });
    task.start();
    await timers.advance(0);
    let stopped = false;
    const stopping = task.stop().then(() => { stopped = true; });
    task.runSoon();
    await settle();
    expect(stopped).toBe(false);
    held.open();
    await stopping;
    expect(finished).toBe(true);
    await timers.advance(1_000);
    expect(runs).toBe(1);
    expect(timers.pending.size).toBe(0);
  });

  test("stop twice, and stop before start, resolve without a run", async () => {
    const timers = new FakeTimers();
    let runs = 0;
    const task = new PeriodicTask({ run: async () => { runs++; }, intervalMs: 10, timers });
    await task.stop();
    task.start();
    await task.stop();
    await task.stop();
    await timers.advance(100);
    expect(runs).toBe(0);
    expect(timers.pending.size).toBe(0);
  });

  test("start twice keeps one loop, and start after stop begins again", async () => {
    const timers = new FakeTimers();
    let runs = 0;
    const task = new PeriodicTask({ run: async () => { runs++; }, intervalMs: 10, timers });
    task.start();
    task.start();
    await timers.advance(25);
    expect(runs).toBe(3);
    await task.stop();
    task.start();
    await timers.advance(0);
    expect(runs).toBe(4);
    await task.stop();
  });

  test("await using stops the task at the end of the block", async () => {
    const timers = new FakeTimers();
    let runs = 0;
    {
      await using task = new PeriodicTask({ run: async () => { runs++; }, intervalMs: 10, timers });
      task.start();
      await timers.advance(0);
    }
    await timers.advance(100);
    expect(runs).toBe(1);
  });
});
