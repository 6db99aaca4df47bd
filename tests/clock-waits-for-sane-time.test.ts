/**
 * A Pi without a real-time clock boots in the past until NTP sets the time.
 * unibus must then wait for a sane clock, saying why, instead of exiting 2 on
 * a "not yet valid" certificate (systemd gives up after five tries) or
 * issuing a certificate dated in the past.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { latestFloor, waitForSaneClock } from "../lib/clock.ts";
import { readCertificateFile } from "../lib/pki/index.ts";
import { makeCaDir } from "./pki-fixtures.ts";
import { RunningUnibus, freePort, nodeToml, tempDir, writeConfig } from "./_helpers.ts";

const CLOCK_SKEW_MS = 5 * 60 * 1000; // lib/pki backdates notBefore by this much

describe("waitForSaneClock (fake time)", () => {
  test("returns at once when the clock is past every floor", async () => {
    let slept = 0;
    const ok = await waitForSaneClock([{ at: new Date(1_000), source: "build" }], { now: () => 5_000, sleep: async () => { slept++; } });
    expect(ok).toBe(true);
    expect(slept).toBe(0);
  });

  test("waits until the latest floor, reporting the cause and the fix at the start and every progress interval", async () => {
    let t = 0;
    const messages: string[] = [];
    const ok = await waitForSaneClock(
      [{ at: new Date(10_000), source: "the time this unibus was built" }, { at: new Date(95_000), source: "the start of the CA certificate /etc/unibus/certs/ca.pem" }],
      { now: () => t, sleep: async (ms) => { t += ms; }, onWait: (w) => messages.push(w.message), pollMs: 1_000, progressEveryMs: 30_000 },
    );
    expect(ok).toBe(true);
    expect(t).toBe(95_000);
    expect(messages).toHaveLength(4); // at 0, 30, 60 and 90 s
    expect(messages[0]).toContain("waiting for the system clock: it says 1970-01-01T00:00:00.000Z, before 1970-01-01T00:01:35.000Z");
    expect(messages[0]).toContain("the start of the CA certificate /etc/unibus/certs/ca.pem");
    expect(messages[0]).toContain("timedatectl");
  });

  test("a stop ends the wait", async () => {
    let t = 0;
    const ok = await waitForSaneClock([{ at: new Date(60_000), source: "x" }], { now: () => t, sleep: async (ms) => { t += ms; }, stopped: () => t >= 3_000 });
    expect(ok).toBe(false);
    expect(t).toBe(3_000);
  });

  test("latestFloor picks the floor furthest ahead", () => {
    expect(latestFloor([{ at: new Date(5), source: "a" }, { at: new Date(9), source: "b" }, { at: new Date(7), source: "c" }])?.source).toBe("b");
    expect(latestFloor([])).toBeUndefined();
  });
});

describe("a node whose clock is behind its CA waits instead of failing", () => {
  const dir = tempDir("unibus-clock-");
  afterAll(() => dir[Symbol.dispose]());

  test("start holds, logs why, and goes on once the clock passes the CA's start", async () => {
    // A CA made on a box whose clock is 15 s ahead of ours: to us it starts in the future
    // (long enough that even a slow start on a busy machine reaches the wait before it is over).
    const ca = await makeCaDir(dir.path, "ca", { now: new Date(Date.now() + CLOCK_SKEW_MS + 15_000) });
    const notBefore = (await readCertificateFile(ca.cert, "CA")).notBefore.getTime();
    expect(notBefore).toBeGreaterThan(Date.now());
    const config = writeConfig(dir.path, nodeToml({ name: "clocky", client: await freePort(), monitor: await freePort(), extra: `[tls]\nca_cert = "${ca.cert}"\nca_key = "${ca.key}"\n` }));
    await using node = new RunningUnibus(["--config", config]);
    await node.waitForLog(/waiting for the system clock/, 30_000);
    expect(node.log).toContain("timedatectl");
    expect(node.proc.exitCode).toBeNull();
    await node.ready();
    // Nothing was issued on the wrong clock: the certificate starts after the CA does.
    const issued = await readCertificateFile(join(dir.path, "data", "tls", "node.pem"), "node certificate");
    expect(issued.notBefore.getTime()).toBeGreaterThanOrEqual(notBefore - CLOCK_SKEW_MS);
    expect(Date.now()).toBeGreaterThanOrEqual(notBefore);
    expect(existsSync(join(dir.path, "data", "nats-server.pid"))).toBe(true);
  }, 120_000);
});
