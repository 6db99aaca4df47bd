/**
 * `npm test` runs two lanes at once (scripts/_test-lanes.ts). These cases
 * pin the rules that keep that safe: every file runs exactly once, all
 * emulated machines share one lane (two emulators never compete), and
 * every file that reads a prepared input waits for `prepare`.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { isEmulated, needsPrepare, planLanes } from "../../scripts/_test-lanes.ts";

const TESTS = join(import.meta.dir, "..");
const suite = [...new Bun.Glob("**/*.test.{ts,tsx}").scanSync({ cwd: TESTS })].filter((f) => !f.startsWith("artifacts/")).map((f) => `tests/${f}`).sort();

describe("the two test lanes", () => {
  test("every file of the suite is in exactly one step", () => {
    const planned = planLanes(suite).flatMap((l) => l.steps.flatMap((s) => s.files));
    expect(planned.length).toBe(suite.length);
    expect([...planned].sort()).toEqual(suite);
  });

  test("the emulated machines are all in one lane, after the fast tier, and wait for prepare", () => {
    const lanes = planLanes(suite);
    const emulated = suite.filter(isEmulated);
    expect(emulated.length).toBeGreaterThanOrEqual(6); // five power-loss files and the emulated boards
    const holding = lanes.filter((l) => l.steps.some((s) => s.files.some(isEmulated)));
    expect(holding.map((l) => l.name)).toEqual(["machines"]);
    const machines = holding[0]!;
    expect(machines.steps[0]!.files.every((f) => f.startsWith("tests/unit/") || f.startsWith("tests/in-process/"))).toBe(true);
    for (const step of machines.steps) if (step.files.some(isEmulated)) expect(step.needsPrepare).toBe(true);
  });

  test("every file that boots a machine is in the machines lane after the emulated ones; the processes lane never waits", () => {
    const [machines, processes] = planLanes(suite);
    expect(machines!.name).toBe("machines");
    const booted = machines!.steps[1]!.files;
    expect(booted.findIndex((f) => !isEmulated(f))).toBe(suite.filter(isEmulated).length);
    expect(booted).toContain("tests/bed-three-pis.test.ts");
    expect(processes!.name).toBe("processes");
    expect(processes!.steps.every((s) => !s.needsPrepare)).toBe(true);
  });

  test("a file that reads a prepared input never runs in a step that does not wait for prepare", () => {
    for (const lane of planLanes(suite)) {
      for (const step of lane.steps) {
        if (!step.needsPrepare) expect(step.files.filter(needsPrepare)).toEqual([]);
      }
    }
    expect(suite.filter(needsPrepare)).toContain("tests/bed-one-box.test.ts");
    expect(suite.filter(needsPrepare)).toContain("tests/preflight-tells-what-to-install.test.ts");
  });

  test("a file that reads a prepared input is named as one: every file importing the bed, the boards or the VMs", () => {
    const readers = readdirSync(TESTS).filter((f) => f.endsWith(".test.ts"))
      .filter((f) => /from "\.\/(bed\/|board-fixtures|vm-fixtures|power-loss-[a-z-]*fixtures|bullseye-root)/.test(readFileSync(join(TESTS, f), "utf8")));
    expect(readers.length).toBeGreaterThanOrEqual(12); // six bed journeys, five power-loss files, the boards
    for (const f of readers) expect(needsPrepare(`tests/${f}`)).toBe(true);
  });

  test("an empty step is left out", () => {
    expect(planLanes(["tests/unit/a.test.ts"])).toEqual([{ name: "machines", steps: [{ files: ["tests/unit/a.test.ts"], needsPrepare: false }] }]);
  });
});
