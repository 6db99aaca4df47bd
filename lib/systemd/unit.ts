/**
 * unit.ts renders the systemd unit for one config from the template in
 * packaging/unibus.service. install.sh asks the executable for it (`unibus
 * unit`), so the unit is judged by the same TOML parser and schema as the
 * node itself: single quotes, dotted keys and every listener count.
 */
import type { UnibusConfig } from "../config/load.ts";
import { DEFAULTS } from "../config/defaults.ts";
import { SECTIONS } from "../config/sections.ts";

/** MIN_STOP_TIMEOUT_S is the template's TimeoutStopSec=: room for JetStream to flush and nats-server to exit. */
const MIN_STOP_TIMEOUT_S = 180;
/** STOP_MARGIN_S is added to the lame-duck duration: unibus waits lame duck + 30 s for nats-server, then needs a little more. */
const STOP_MARGIN_S = 60;

/** UnitFacts are the few things about a config that change the unit. */
export interface UnitFacts {
  /** Listen ports below 1024, each with the key that asks for it. */
  lowPorts: { key: string; port: number }[];
  /** Seconds systemd waits on stop before SIGKILL. */
  stopTimeoutS: number;
  /** A data dir outside the unit's StateDirectory, which ProtectSystem=strict makes read-only unless listed. */
  extraWritable?: string;
  /** [backup] dir outside the data dir (another disk), likewise read-only unless listed. */
  backupWritable?: string;
}

/** inside tells whether path is dir or below it. */
function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/** unitFacts reads from an effective config what the unit depends on. */
export function unitFacts(config: UnibusConfig): UnitFacts {
  // Every table's listeners, as the config registry knows them (port clashes use the same list).
  const lowPorts = SECTIONS.flatMap((s) => s.listeners(config))
    .filter((l) => l.listen.port > 0 && l.listen.port < 1024)
    .map((l) => ({ key: l.path.join("."), port: l.listen.port }));
  const lameS = config.node.lameDuckMs === undefined ? 0 : Math.ceil(config.node.lameDuckMs / 1000);
  const stopTimeoutS = Math.max(MIN_STOP_TIMEOUT_S, lameS + STOP_MARGIN_S);
  const dataDir = config.node.dataDir.replace(/\/+$/, "");
  const backupDir = config.backup.dir.replace(/\/+$/, "");
  const backupOutside = config.backup.enabled && !inside(backupDir, dataDir) && !inside(backupDir, DEFAULTS.installedDataDir);
  return { lowPorts, stopTimeoutS, ...(dataDir !== DEFAULTS.installedDataDir ? { extraWritable: dataDir } : {}), ...(backupOutside ? { backupWritable: backupDir } : {}) };
}

/**
 * renderUnit applies the facts to the template: capabilities for a low port
 * (PrivateUsers= would void them), TimeoutStopSec= beyond the lame duck, and
 * ReadWritePaths= for a data dir outside /var/lib/unibus. A template missing
 * one of the lines it edits is an error, never a silently weaker unit.
 */
export function renderUnit(template: string, facts: UnitFacts): string {
  const seen = new Set<string>();
  const ports = [...new Set(facts.lowPorts.map((p) => p.port))].sort((a, b) => a - b);
  const caps = ports.length > 0;
  const out: string[] = [];
  for (const line of template.split("\n")) {
    const key = /^(\w+)=/.exec(line)?.[1];
    if (key) seen.add(key);
    if (caps && key === "CapabilityBoundingSet") {
      out.push(`# A listen port below 1024 (${facts.lowPorts.map((p) => `${p.key} ${p.port}`).join(", ")}) needs CAP_NET_BIND_SERVICE; nats-server inherits it.`, "CapabilityBoundingSet=CAP_NET_BIND_SERVICE");
    } else if (caps && key === "AmbientCapabilities") {
      out.push("AmbientCapabilities=CAP_NET_BIND_SERVICE");
    } else if (caps && key === "PrivateUsers") {
      out.push("# A capability from the host's user namespace is void inside a private one.", "PrivateUsers=no");
    } else if (key === "TimeoutStopSec") {
      out.push(`TimeoutStopSec=${facts.stopTimeoutS}s`);
    } else if (key === "StateDirectoryMode" && (facts.extraWritable || facts.backupWritable)) {
      out.push(line);
      if (facts.extraWritable) out.push(`# [node] data_dir is outside /var/lib/unibus; ProtectSystem=strict leaves only listed paths writable.`, `ReadWritePaths=${facts.extraWritable}`);
      // "-": a backup disk that is not mounted does not stop the node; status then names the failing backups.
      if (facts.backupWritable) out.push(`# [backup] dir is outside the data dir; "-" lets the node start while that disk is not mounted.`, `ReadWritePaths=-${facts.backupWritable}`);
    } else {
      out.push(line);
    }
  }
  for (const key of ["CapabilityBoundingSet", "AmbientCapabilities", "PrivateUsers", "TimeoutStopSec", "StateDirectoryMode"]) {
    if (!seen.has(key)) throw new Error(`the unit template has no ${key}= line; it cannot be adjusted for this config`);
  }
  return out.join("\n");
}
