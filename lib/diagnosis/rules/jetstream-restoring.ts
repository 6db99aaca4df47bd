/**
 * jetstream-restoring.ts is the rule for a nats-server that is still starting:
 * after an unclean stop it restores every stream before JetStream is ready,
 * which takes minutes on a Pi's SD card, and its monitoring port is slow or
 * silent meanwhile. That is a start, not a hang: a restart would only begin
 * the restore again (nats-server#6313).
 */
import { defineRule, type ProblemOf } from "../rule.ts";
import type { HealthFacts } from "../facts.ts";
import { describeStartProgress, type StartProgressRecord } from "../../natsd/start-progress.ts";
import { SUPERVISION } from "../../config/defaults.ts";

/** jetstreamRestoringRule reports jetstream_restoring while the node's start is under way (facts.starting), moving or stalled. */
export const jetstreamRestoringRule = defineRule({
  name: "jetstream-restoring",
  kinds: ["jetstream_restoring"],
  check({ facts: f }) {
    return f.starting ? [stillStarting(f, f.starting)] : [];
  },
});

function stillStarting(f: HealthFacts, r: StartProgressRecord): ProblemOf<"jetstream_restoring"> {
  const doing = describeStartProgress(r);
  const min = Math.max(0, Math.round((f.now - r.since) / 60_000));
  const stalledMs = f.now - r.lastProgressAt;
  const base = { kind: "jetstream_restoring" as const, severity: "broken" as const, node: f.node };
  if (stalledMs >= SUPERVISION.startStallMs) {
    return {
      ...base,
      cause: `nats-server (pid ${r.natsPid}) is starting (${doing}, ${min} min so far) but shows no progress for ${Math.round(stalledMs / 1000)} s: no log line, no CPU time, no disk reads`,
      fix: "look at the disk and the machine's load (dmesg for I/O errors, uptime, top); if nothing moves for several more minutes, restart the node: systemctl restart unibus, and read the log: journalctl -u unibus",
    };
  }
  return {
    ...base,
    cause: `nats-server (pid ${r.natsPid}) is ${doing} after an unclean stop, ${min} min so far${r.messagesRestored ? `, ${r.messagesRestored} messages restored` : ""}; clients are accepted once it finishes`,
    fix: "wait: it is making progress (journalctl -u unibus shows each stream); do not restart it, a restart begins the restore again",
  };
}
