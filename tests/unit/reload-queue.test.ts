/**
 * The node's one reload at a time (lib/reload-queue.ts), on fake work.
 */
import { expect, test } from "bun:test";
import { ReloadQueue } from "../../lib/reload-queue.ts";

test("reload requests during a reload are answered by one more reload that starts after them", async () => {
  let runs = 0;
  const gates: (() => void)[] = [];
  const q = new ReloadQueue(() => new Promise<number>((resolve) => { const n = ++runs; gates.push(() => resolve(n)); }));
  const first = q.request();
  const second = q.request();
  const third = q.request();
  expect(runs).toBe(1);
  gates.shift()!();
  expect(await first).toBe(1);
  await Promise.resolve();
  expect(runs).toBe(2);
  gates.shift()!();
  expect(await second).toBe(2);
  expect(await third).toBe(2);
  const fourth = q.request();
  expect(runs).toBe(3);
  gates.shift()!();
  expect(await fourth).toBe(3);
});
