/**
 * cgroup.ts tells which systemd service a process runs in, from its cgroup
 * path (/proc/PID/cgroup): systemd puts each service in a cgroup named after
 * its unit (…/system.slice/unibus.service). A second unibus refused the data
 * dir can then say "it is running as the systemd service unibus" instead of
 * a bare lock error.
 */
import { readFileSync } from "node:fs";

/**
 * serviceOfCgroupText returns the service name (without ".service") a
 * /proc/PID/cgroup text places the process in: the unified hierarchy's line
 * (0::/…) or cgroup v1's name=systemd line. Undefined outside a service.
 */
export function serviceOfCgroupText(text: string): string | undefined {
  for (const line of text.split("\n")) {
    const m = /^\d+:(?:name=systemd)?:(\/.*)$/.exec(line.trim());
    const unit = m?.[1]!.split("/").reverse().find((part) => part.endsWith(".service"));
    if (unit) return unit.slice(0, -".service".length);
  }
  return undefined;
}

/** serviceOfPid is the systemd service a live process runs in; undefined when none or unreadable. */
export function serviceOfPid(pid: number): string | undefined {
  try {
    return serviceOfCgroupText(readFileSync(`/proc/${pid}/cgroup`, "utf8"));
  } catch {
    return undefined;
  }
}
