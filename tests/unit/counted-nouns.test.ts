/**
 * Counts in the CLI's sentences agree with their number: the bed's backup
 * summary said "1 streams (1 KV buckets, 1 object stores)".
 */
import { expect, test } from "bun:test";
import { counted } from "../../lib/format.ts";
import { describeManifest, type Manifest } from "../../lib/backup/manifest.ts";

test("one is singular, zero and many are plural, an irregular plural is given", () => {
  expect(counted(1, "stream")).toBe("1 stream");
  expect(counted(0, "stream")).toBe("0 streams");
  expect(counted(3, "KV bucket")).toBe("3 KV buckets");
  expect(counted(2, "replica of it", "replicas of it")).toBe("2 replicas of it");
});

test("backup inspect counts in the number's form: none plural, one cluster file singular", () => {
  const manifest = {
    version: 1, createdAt: "2026-12-07T15:00:00.000Z", node: "pi-1", unibus: "0.1.0", durationMs: 600,
    streams: [], files: [{ entry: "cluster/members.json", what: "the members list", source: "/var/lib/unibus/members.json" }], notes: [],
  } as unknown as Manifest;
  const text = describeManifest("b.tar", manifest);
  expect(text).toContain("0 streams, 0 KV buckets, 0 object stores; 1 cluster file");
});
