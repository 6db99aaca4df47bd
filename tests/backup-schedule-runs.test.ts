/**
 * The backup schedule on a real node with a short period: backups appear on
 * their own, the oldest beyond keep are deleted, each file is a complete
 * backup of the node's streams; when the backup disk (a small tmpfs) is
 * full, status names backup_failing with the cause and the fix (exit 3) and
 * no partial file is left, and once there is room again the next attempt
 * succeeds and status is healthy again.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { RunningUnibus, freePort, nodeToml, prerequisite, runUnibus, tempDir, waitFor, writeConfig } from "./_helpers.ts";

const dir = tempDir("unibus-backup-schedule-");
const disk = join(dir.path, "usb-disk");
const backups = join(disk, "backups");
let mounted = false;
let node: RunningUnibus;
let nc: NatsConnection;
let config: string;

const scheduled = () => {
  try {
    return readdirSync(backups).filter((f) => /^unibus-backup-sched-\d{8}T\d{6}Z\.tar$/.test(f)).sort();
  } catch {
    return [];
  }
};

beforeAll(async () => {
  mkdirSync(disk);
  // A 2 MiB tmpfs stands in for the USB disk the backups go to, so it can be filled.
  mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", disk]).status === 0;
  const client = await freePort();
  config = writeConfig(dir.path, nodeToml({ name: "sched", client, monitor: await freePort(), extra: `[backup]\ndir = "usb-disk/backups"\nevery = "10s"\nkeep = 2\n` }));
  node = new RunningUnibus(["--config", config]);
  await node.ready();
  nc = await connect({ servers: `127.0.0.1:${client}` });
  await (await jetstreamManager(nc)).streams.add({ name: "EVENTS", subjects: ["events.>"] });
  for (let i = 0; i < 50; i++) await jetstream(nc).publish("events.x", `event ${i}`);
}, 90_000);

afterAll(async () => {
  await nc?.close().catch(() => {});
  await node?.stop();
  if (mounted) spawnSync("umount", [disk]);
  dir[Symbol.dispose]();
});

test("scheduled backups appear on their own and only the newest two are kept", async () => {
  await waitFor("three scheduled backups", () => (node.log.match(/scheduled backup written/g) ?? []).length >= 3, 90_000, 250);
  await waitFor("the oldest deleted", () => scheduled().length === 2, 10_000);
  const newest = join(backups, scheduled().at(-1)!);
  const inspect = await runUnibus(["backup", "inspect", newest, "--verify", "--json"]);
  expect(inspect.code).toBe(0);
  const manifest = JSON.parse(inspect.stdout);
  expect(manifest.node).toBe("sched");
  expect(manifest.streams.map((s: { name: string; state: { messages: number } }) => [s.name, s.state.messages])).toEqual([["EVENTS", 50]]);
  const status = await runUnibus(["status", "--config", config]);
  expect(status.stdout).not.toContain("backup_");
  // unibus backup without --out asks the running node (control channel), which writes beside its scheduled ones.
  const manual = await runUnibus(["backup", "--config", config], { timeoutMs: 60_000 });
  expect(manual.code).toBe(0);
  expect(manual.stdout).toMatch(/wrote .*usb-disk\/backups\/unibus-backup-sched-\d{8}T\d{6}Z-manual\.tar .*: 1 stream \(0 KV buckets, 0 object stores\)/);
  await node.waitForLog(/backup written on request/, 30_000); // its log reaches us through a pipe, behind the control channel's answer
}, 120_000);

test("a full backup disk is backup_failing in status with the fix, and healthy again once there is room", async () => {
  if (!prerequisite(mounted, "mount -t tmpfs (root) for a small backup disk")) return;
  const filler = join(disk, "filler");
  try {
    writeFileSync(filler, new Uint8Array(4 * 1024 * 1024));
  } catch {
    // ENOSPC: the disk is full now, which is the point
  }
  const from = node.log.length;
  await node.waitForLog(/scheduled backup failed/, 60_000, from);
  const status = await runUnibus(["status", "--config", config]);
  if (status.code !== 3) console.log(status.stdout, status.stderr);
  expect(status.code).toBe(3);
  expect(status.stdout).toContain("the last scheduled backup");
  expect(status.stdout).toMatch(/the disk is full|not enough room/);
  expect(status.stdout).toContain(`df -h ${backups}`);
  expect(status.stdout).toContain("sudo unibus backup");
  expect(readdirSync(backups).filter((f) => f.endsWith(".partial"))).toEqual([]);
  rmSync(filler);
  const again = node.log.length;
  await node.waitForLog(/scheduled backup written/, 60_000, again);
  const healthy = await runUnibus(["status", "--config", config]);
  expect(healthy.stdout).not.toContain("backup");
  expect(healthy.code).toBe(0);
}, 150_000);
