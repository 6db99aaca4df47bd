/** The disk rule: a JetStream file limit bigger than the disk, with a limit that fits. */
import { expect, test } from "bun:test";
import { diskRule } from "../../../lib/diagnosis/rules/disk.ts";
import { healthy, run } from "./_facts.ts";

const MiB = 1024 * 1024;
test.each([
  ["room enough", { dir: "/d", freeBytes: 1_000_000 * MiB, totalBytes: 2_000_000 * MiB, storeBytes: 0 }, undefined],
  ["a small disk", { dir: "/d", freeBytes: 100 * MiB, totalBytes: 200 * MiB, storeBytes: 0 }, 'jetstream.max_file = "75MiB"'],
  ["stored data counts as room", { dir: "/d", freeBytes: 100 * MiB, totalBytes: 400 * MiB, storeBytes: 100 * MiB }, 'jetstream.max_file = "150MiB"'],
] as const)("%s", (_, disk, fix) => {
  const f = healthy({ disk });
  f.config = { ...f.config, jetstream: { ...f.config.jetstream, maxFile: 1024 * MiB } };
  const out = run(diskRule, f);
  if (!fix) return expect(out).toEqual([]);
  expect(out[0]).toMatchObject({ kind: "disk_too_small", severity: "degraded" });
  expect(out[0]!.fix).toContain(fix);
  expect(out[0]!.cause).toContain("streams can fill the disk to 100 % before JetStream's limit stops them");
});
