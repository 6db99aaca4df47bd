/**
 * nats.ts is the rule for a nats-server that does not answer or is not
 * ready: stopped (SIGSTOP, a debugger) and hung need a restart, not a start,
 * and a node that left its cluster is stopped on purpose (the membership
 * rule says so instead).
 */
import { defineRule, type ProblemOf } from "../rule.ts";
import type { HealthFacts } from "../facts.ts";

/** natsRule reports nats_not_running: the monitoring port is silent, or (without JetStream) nats is not ready. */
export const natsRule = defineRule({
  name: "nats",
  kinds: ["nats_not_running"],
  check({ facts: f }) {
    // A start under way (a JetStream restore) is the restoring rule's to tell: it is not hung.
    if (f.starting) return [];
    if (!f.reachable) return f.left || f.membership?.removed ? [] : [notAnswering(f)];
    if (!f.jetstreamEnabled && !f.health.ok) return [{ kind: "nats_not_running", severity: "broken", node: f.node, cause: `nats-server is not ready: ${f.health.detail}`, fix: "see the log: journalctl -u unibus" }];
    return [];
  },
});

function notAnswering(f: HealthFacts): ProblemOf<"nats_not_running"> {
  const at = f.config.monitor.listen.text;
  const nats = f.processes?.nats;
  const base = { kind: "nats_not_running" as const, severity: "broken" as const, node: f.node };
  if (nats?.state === "stopped") {
    return {
      ...base,
      cause: `nats-server (pid ${nats.pid}) is stopped (SIGSTOP or a debugger): it holds its ports and answers nothing at ${at}, so clients and the other nodes wait on it`,
      fix: `let it run on with kill -CONT ${nats.pid}, or restart the node: systemctl restart unibus`,
    };
  }
  if (nats?.state === "running" && /did not answer/.test(f.monitorError ?? "")) {
    return {
      ...base,
      cause: `nats-server (pid ${nats.pid}) is running but does not answer at ${at} (${f.monitorError}): it is hung or the machine is overloaded`,
      fix: "look at the machine's load (uptime, top); if it does not pass, restart the node: systemctl restart unibus, and read the log: journalctl -u unibus",
    };
  }
  return {
    ...base,
    cause: `nats-server on this node does not answer at ${at} (${f.monitorError ?? "no answer"}): unibus is not running or is still starting`,
    fix: `start it (systemctl start unibus, or unibus --config ${f.config.file}); if it does not stay up: journalctl -u unibus`,
  };
}
