/**
 * A node runs with JSC's optimizing JIT tiers off and drops the start-up-only
 * pages of its executable once ready (lib/runtime-memory.ts): the systemd unit
 * and `npm start` set the JSC options; started any other way, unibus
 * re-executes itself in place (same pid) with them; a BUN_JSC_* variable
 * chosen by the user is kept. RSS targets are in `npm run bench`.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, RunningUnibus, freePort, nodeToml, tempDir, writeConfig } from "./_helpers.ts";
import { LEAN_JSC_ENV } from "../lib/runtime-memory.ts";

const dir = tempDir("unibus-lean-");
afterAll(() => dir[Symbol.dispose]());
const environOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");

test("the systemd unit and npm start set every lean JSC option", () => {
  const unit = readFileSync(join(ROOT, "packaging", "unibus.service"), "utf8");
  const start = readFileSync(join(ROOT, "scripts", "start.sh"), "utf8");
  for (const [key, value] of Object.entries(LEAN_JSC_ENV)) {
    expect(unit).toMatch(new RegExp(`^Environment=.*\\b${key}=${value}\\b`, "m"));
    expect(start).toMatch(new RegExp(`^export .*\\b${key}=${value}\\b`, "m"));
  }
});

async function startNode(name: string, env: Record<string, string>) {
  const config = writeConfig(dir.path, nodeToml({ name, client: await freePort(), monitor: await freePort() }), `${name}.toml`);
  const node = new RunningUnibus(["--config", config, "--log-level", "debug"], env);
  await node.ready(90_000);
  await node.waitForLog(/released start-up memory/, 30_000);
  return node;
}

test("started directly, unibus re-executes itself in place with the lean options and releases start-up pages", async () => {
  await using node = await startNode("lean", {});
  const environ = environOf(node.proc.pid);
  for (const [key, value] of Object.entries(LEAN_JSC_ENV)) expect(environ).toContain(`${key}=${value}`);
  expect(node.log).toMatch(/released start-up memory.*kib=[1-9]\d*.*jsc="JIT tiers off: Baseline, DFG, FTL"/);
  expect(await node.stop()).toBe(0);
}, 120_000);

test("a JSC option the user set is kept: no re-execution, all tiers", async () => {
  await using node = await startNode("chosen", { BUN_JSC_useJIT: "1" });
  const environ = environOf(node.proc.pid);
  expect(environ).toContain("BUN_JSC_useJIT=1");
  for (const key of Object.keys(LEAN_JSC_ENV)) expect(environ.some((e) => e.startsWith(`${key}=`))).toBe(false);
  expect(node.log).toMatch(/released start-up memory.*jsc="all JIT tiers"/);
  expect(await node.stop()).toBe(0);
}, 120_000);
