/**
 * disk.ts is the rule for a JetStream file limit bigger than the disk can
 * hold: streams would fill the disk to 100 % before JetStream stops them.
 */
import { formatBytes } from "../../format.ts";
import { defineRule } from "../rule.ts";

/** diskRule reports disk_too_small when jetstream.max_file exceeds free space plus what JetStream stores. */
export const diskRule = defineRule({
  name: "disk",
  kinds: ["disk_too_small"],
  check({ facts: f }) {
    const d = f.disk;
    if (!d || !f.jetstreamEnabled) return [];
    const max = f.config.jetstream.maxFile;
    const room = d.freeBytes + d.storeBytes;
    if (max <= room) return [];
    const suggested = Math.max(1024 * 1024, Math.floor((room * 0.75) / (1024 * 1024)) * 1024 * 1024);
    return [{
      kind: "disk_too_small", severity: "degraded", node: f.node,
      cause: `jetstream.max_file is ${formatBytes(max)} but the disk of ${d.dir} has only ${formatBytes(d.freeBytes)} free${d.storeBytes ? ` (plus ${formatBytes(d.storeBytes)} JetStream already stores)` : ""}: streams can fill the disk to 100 % before JetStream's limit stops them`,
      fix: `set jetstream.max_file = "${Math.floor(suggested / (1024 * 1024))}MiB" (or less) in ${f.config.file}, or leave max_file out (unibus then takes 75 % of what the disk can hold), or move node.data_dir to a bigger disk, then restart unibus`,
    }];
  },
});
