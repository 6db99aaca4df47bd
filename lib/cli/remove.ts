/**
 * remove.ts implements `unibus remove NAME` (on any member, for a box that
 * is gone or stopped) and `unibus leave` (on the box that goes): the server
 * leaves the JetStream meta group and the members list, so the remaining
 * boxes count their quorum without it and no longer dial it.
 */
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { writeLeftMarker } from "../membership/left-marker.ts";
import { loadConfig, type UnibusConfig } from "../config/load.ts";
import { ConfigError, RuntimeError, UsageError } from "../errors.ts";
import { MemberRegistry } from "../membership/members.ts";
import { planRetire, recordRemoval, removeFromMeta } from "../membership/retire.ts";
import { configPath, parseCommand } from "./_flags.ts";
import { isRunning, runningNode } from "./reload.ts";
import { serviceOfPid } from "../systemd/cgroup.ts";
import { requestRemove } from "../control/members.ts";

function clusterConfig(file: string | undefined): UnibusConfig {
  const config = loadConfig(configPath(file));
  if (!config.cluster || !config.tls) throw new ConfigError(`${config.file} has no [cluster] and [tls]: there are no members to remove`);
  return config;
}

/** remove takes another member out of the cluster. */
export async function remove(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("remove", args);
  if (positionals.length !== 1) throw new UsageError("expected one NAME: the member to remove (see: unibus status)");
  const name = positionals[0]!;
  const config = clusterConfig(values.config);
  if (name === config.node.name) throw new UsageError(`"${name}" is this node: run \`unibus leave\` to take it out of the cluster`);
  const t0 = Date.now();
  // The running node does it with its own credential and certificate; here only when it cannot be asked.
  const asked = await requestRemove(config.node.dataDir, { name, force: values.force });
  let done: { metaSize: number; settledMs: number };
  if (asked.reached) {
    done = asked.answer;
  } else {
    const plan = await planRetire(config, name, { self: false, force: values.force });
    const settledMs = plan.inMeta ? await removeFromMeta(config, name, plan.meta) : 0;
    await recordRemoval(config, name);
    done = { metaSize: plan.inMeta ? plan.meta.size - 1 : plan.meta.size, settledMs };
  }
  process.stdout.write(`removed "${name}" from cluster "${config.cluster!.name}" in ${Date.now() - t0} ms: the JetStream meta group counts ${done.metaSize} servers (settled in ${done.settledMs} ms) and the members list marks it removed; no member dials it any more.\n` +
    `If ${name} comes back it will not start as a member; to bring that box (or a new one) back under this name: unibus join ADDR --token TOKEN --name ${name} --replace\n`);
  return 0;
}

/** leave takes this node out of the cluster and stops it. */
export async function leave(args: string[]): Promise<number> {
  const { values } = parseCommand("leave", args);
  const config = clusterConfig(values.config);
  const name = config.node.name;
  const pid = runningNode(config.node.dataDir);
  if (!pid) throw new RuntimeError(`unibus is not running with ${config.file}: leave needs the running node (its system account and certificate). On another member, run: unibus remove ${name}`);
  const t0 = Date.now();
  const plan = await planRetire(config, name, { self: true, force: values.force });
  if (plan.inMeta) await removeFromMeta(config, name, plan.meta, { self: true });
  const members = await recordRemoval(config, name);
  // The unit is read off the running process's cgroup: once it has stopped, /proc/<pid> is gone
  // and the unit would stay enabled (a reboot then starts a node that refuses to, a failed unit).
  const unit = systemdUnitOf(pid);
  process.kill(pid, "SIGTERM");
  const until = Date.now() + 120_000;
  while (isRunning(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  // The node is stopped: record the removal here too, so it refuses to start as a member again.
  const registry = new MemberRegistry(config.node.dataDir);
  registry.merge(members);
  registry.save(); // owned like the data dir: run as root, the service user must still read it
  writeLeftMarker(config.node.dataDir, { cluster: config.cluster!.name, name, at: new Date().toISOString(), how: "left" });
  const disabled = unit ? disableUnit(unit) : undefined;
  process.stdout.write(`"${name}" left cluster "${config.cluster!.name}" in ${Date.now() - t0} ms and its unibus (pid ${pid}) is stopped; it will not start as a member again (it refuses to).\n` +
    (unit ? (disabled === true ? `systemd unit ${unit} disabled: it does not start at boot.\n` : `could not disable systemd unit ${unit} (${disabled}): run sudo systemctl disable ${unit}\n`) : "") +
    `To uninstall it: sudo ./install.sh --uninstall --purge (it asks to confirm; --yes where there is no terminal). To join again later: unibus join ADDR --token TOKEN --name ${name} --replace --force\n`);
  return 0;
}

/** systemdUnitOf names the unibus systemd unit that runs pid (from its cgroup), when systemd is PID 1. */
function systemdUnitOf(pid: number): string | undefined {
  try {
    if (readFileSync("/proc/1/comm", "utf8").trim() !== "systemd") return undefined;
  } catch {
    return undefined;
  }
  const service = serviceOfPid(pid);
  return service?.startsWith("unibus") ? `${service}.service` : undefined;
}

/** disableUnit disables a unit so a reboot does not start the node; true, or why not. */
function disableUnit(unit: string): true | string {
  const r = spawnSync("systemctl", ["disable", unit], { encoding: "utf8" });
  return r.status === 0 ? true : (r.stderr || r.error?.message || `exit ${r.status}`).trim();
}

