/**
 * Under systemd, journald reads each line's priority from a `<N>` prefix; without it
 * every line is priority 6 and `journalctl -p err` never shows unibus's errors.
 * JOURNAL_STREAM names the stream as device:inode, here a plain file standing in for it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN_X64, freePort, nodeToml, tempDir, writeConfig } from "./_helpers.ts";

const dir = tempDir("unibus-journal-");
afterAll(() => dir[Symbol.dispose]());

/** runWithJournal runs unibus with stderr on a file that JOURNAL_STREAM names, and returns what it wrote there. */
async function runWithJournal(args: string[], untilMs: number, name: string, journal = true): Promise<{ code: number; stderr: string }> {
  const file = join(dir.path, name);
  writeFileSync(file, "");
  const fd = openSync(file, "a");
  const st = statSync(file);
  const env: Record<string, string> = { ...process.env as Record<string, string>, ...(journal ? { JOURNAL_STREAM: `${st.dev}:${st.ino}` } : {}) };
  const proc = Bun.spawn([BIN_X64, ...args], { stdout: "ignore", stderr: fd, env });
  const timer = setTimeout(() => proc.kill("SIGTERM"), untilMs);
  const code = await proc.exited;
  clearTimeout(timer);
  closeSync(fd);
  return { code, stderr: readFileSync(file, "utf8") };
}

describe("every line reaches journald at its own level", () => {
  test("a fatal error is priority 3 (err)", async () => {
    const bad = writeConfig(dir.path, "[node]\nnmae = 1\n", "bad.toml");
    const { code, stderr } = await runWithJournal(["--config", bad], 20_000, "bad.log");
    expect(code).toBe(2);
    expect(stderr).toMatch(/^<3>error: /);
    // journald splits lines: each line of a multi-line error carries the priority
    for (const line of stderr.trim().split("\n")) expect(line).toMatch(/^<3>/);
    expect(stderr).toContain("node.nmae");
  }, 60_000);

  test("info lines are priority 6 and a warning priority 4; without JOURNAL_STREAM there is no prefix", async () => {
    const client = await freePort();
    const monitor = await freePort();
    // A lame duck shorter than nats-server's minimum is a warning, not an error.
    const config = writeConfig(dir.path, nodeToml({ name: "journal", client, monitor }), "ok.toml");
    const { stderr } = await runWithJournal(["--config", config, "--log-format", "json"], 6_000, "ok.log");
    const lines = stderr.trim().split("\n");
    expect(lines.find((l) => l.includes('"msg":"starting unibus"'))).toMatch(/^<6>\{/);
    for (const l of lines) {
      const level = /"level":"(\w+)"/.exec(l)?.[1];
      if (level) expect(l.slice(0, 3)).toBe({ debug: "<7>", info: "<6>", warn: "<4>", error: "<3>" }[level]!);
    }
    const plain = await runWithJournal(["--config", config], 4_000, "plain.log", false);
    expect(plain.stderr).toContain("starting unibus");
    expect(plain.stderr).not.toMatch(/^<\d>/m);
  }, 60_000);
});
