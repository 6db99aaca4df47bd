/**
 * The rule registry: every rule has its table here (tests/unit/rules/NAME.test.ts),
 * every kind a rule declares is in README's list, and a healthy node gets no problem.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { RULES, PROBLEM_KINDS } from "../../../lib/diagnosis/rules.ts";
import { diagnose } from "../../../lib/diagnosis/diagnose.ts";
import { healthy, standalone } from "./_facts.ts";

describe("the rule registry", () => {
  test("every rule has a table test named after it", () => {
    const missing = RULES.map((r) => r.name).filter((n) => !existsSync(new URL(`./${n}.test.ts`, import.meta.url)));
    expect(missing).toEqual([]);
  });

  test("the kinds are the rules' kinds, each once", () => {
    expect(PROBLEM_KINDS.length).toBe(new Set(PROBLEM_KINDS).size);
    expect(new Set(PROBLEM_KINDS)).toEqual(new Set(RULES.flatMap((r) => [...r.kinds])));
  });

  test("a healthy member and a healthy standalone node have no problem", () => {
    expect(diagnose(healthy()).problems).toEqual([]);
    expect(diagnose(healthy({ config: standalone, meta: undefined, metaCluster: undefined, metaHealth: undefined, routes: [], members: [] })).verdict).toBe("healthy");
  });

  test("broken problems lead, then the rest in rule order", () => {
    const d = diagnose(healthy({ disk: { dir: "/d", freeBytes: 1, totalBytes: 2, storeBytes: 0 }, reachable: false, monitorError: "connect ECONNREFUSED" }));
    expect(d.problems.map((p) => p.kind)).toEqual(["nats_not_running", "disk_too_small"]);
    expect(d.verdict).toBe("broken");
  });
});
