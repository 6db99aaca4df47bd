/**
 * The benchmark's quick mode runs end to end, so the bench code cannot rot:
 * every row is measured for unibus and, where it exists, for the bare
 * nats-server, with positive numbers, and the table is printed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BIN_ARM64, ROOT, tempDir } from "./_helpers.ts";

const dir = tempDir("unibus-bench-smoke-");
afterAll(() => dir[Symbol.dispose]());

interface Stats { median: number; min: number; max: number; n: number; samples: number[] }
interface Row { id: string; unibus: Stats | null; bare: Stats | null; ratio: number | null; pending?: string }

/** Rows measured on both sides (unibus and bare nats-server). */
const BOTH = ["size_linux_x64", "start_cold", "start_warm", "rss_node_idle", "pubsub_16b", "pubsub_1024b", "js_pub_sync_always", "js_pub_sync_2m", "backup_seconds", "restore_seconds", "backup_size_mib", "cluster_formation", "cluster_failover", "fleet_edge_rss", "fleet_hub_rss_small", "fleet_hub_rss_large", "fleet_connect_small", "fleet_connect_large", "fleet_failover"];
/** Rows that only exist for unibus. */
const UNIBUS_ONLY = ["rss_unibus_idle", "rss_unibus_polled"];
/** Rows on both sides whose bare value may be 0 in a short quick window (an idle nats-server's CPU). */
const BOTH_MAY_BE_ZERO = ["fleet_hub_cpu_small", "fleet_hub_cpu_large"];

function positive(s: Stats | null, what: string): void {
  expect(s, what).not.toBeNull();
  expect(s!.n, what).toBeGreaterThanOrEqual(1);
  for (const v of [s!.median, s!.min, s!.max, ...s!.samples]) {
    expect(Number.isFinite(v), what).toBe(true);
    expect(v, what).toBeGreaterThan(0);
  }
}

describe("npm run bench -- --quick", () => {
  test("measures every row for unibus and the bare nats-server and writes results.json", async () => {
    const out = join(dir.path, "results.json");
    const proc = Bun.spawn([process.execPath, "bench/run.ts", "--quick", "--out", out], { cwd: ROOT, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0) console.error(stdout, stderr);
    expect(code).toBe(0);
    expect(stdout).toContain("unibus median");
    expect(stdout).toMatch(/machine: \d+ cores, /);

    const results = JSON.parse(readFileSync(out, "utf8")) as { mode: string; errors: unknown[]; machine: { cores: number; cpuModel: string }; rows: Row[] };
    expect(results.mode).toBe("quick");
    expect(results.errors).toEqual([]);
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.machine.cpuModel.length).toBeGreaterThan(0);
    const byId = new Map(results.rows.map((r) => [r.id, r]));
    const both = existsSync(BIN_ARM64) ? [...BOTH, "size_linux_arm64"] : BOTH;
    for (const id of both) {
      const r = byId.get(id);
      expect(r, id).toBeDefined();
      expect(r!.pending, id).toBeUndefined();
      positive(r!.unibus, `${id} unibus`);
      positive(r!.bare, `${id} bare`);
      expect(r!.ratio!, id).toBeGreaterThan(0);
      expect(r!.ratio!, id).toBeCloseTo(r!.unibus!.median / r!.bare!.median, 6);
    }
    for (const id of BOTH_MAY_BE_ZERO) {
      const r = byId.get(id);
      expect(r, id).toBeDefined();
      positive(r!.unibus, `${id} unibus`);
      expect(r!.bare, id).not.toBeNull();
    }
    for (const id of UNIBUS_ONLY) {
      const r = byId.get(id);
      expect(r, id).toBeDefined();
      positive(r!.unibus, `${id} unibus`);
    }
  }, 300_000);
});
