/**
 * storage.ts is the rule for a member at or near its JetStream storage
 * limit (jetstream.max_file): at the limit nats-server stops storing, and a
 * replica there stops following its leader while every node's /healthz can
 * still say ok. Every server reports its usage and limit, so any member
 * names it.
 */
import { formatBytes } from "../../format.ts";
import { defineRule } from "../rule.ts";

/** STORAGE_NEAR_SHARE: at this share of the limit a member is "near" it. */
export const STORAGE_NEAR_SHARE = 0.9;
/** STORAGE_FULL_SHARE: at this share the member is at its limit (nats keeps a little headroom of its own). */
export const STORAGE_FULL_SHARE = 0.98;

/** storageRule reports jetstream_storage_full for each member at or near its limit. */
export const storageRule = defineRule({
  name: "storage",
  kinds: ["jetstream_storage_full"],
  check({ facts: f }) {
    return (f.cluster?.storage ?? []).filter((s) => s.max > 0 && s.used >= s.max * STORAGE_NEAR_SHARE).map((s) => {
      const full = s.used >= s.max * STORAGE_FULL_SHARE;
      const pct = Math.floor((s.used / s.max) * 100);
      return {
        kind: "jetstream_storage_full" as const, severity: "degraded" as const, node: s.node,
        cause: `${s.node}'s JetStream storage is ${full ? "at" : "near"} its limit: ${formatBytes(s.used)} of ${formatBytes(s.max)} (${pct} %)${full ? `; new messages on its streams are refused and its replicas stop following their leaders` : ""}`,
        fix: `make room: limit the big streams (nats stream edit NAME --max-bytes … or --max-age …) or delete streams no longer needed; or raise jetstream.max_file in ${s.node}'s config (the disk permitting) and restart unibus there`,
      };
    });
  },
});
