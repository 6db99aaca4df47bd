/**
 * preflight.ts finds what can be known to go wrong before nats-server starts,
 * for `config check` and for the log at every start: a clustered node that
 * would take its name from the host name, a secret that holds a bcrypt hash
 * where the plaintext is needed, a leaf uplink that cannot verify its hub, a
 * JetStream file limit larger than the disk, a two-node cluster, passwords
 * that cost time at every start.
 */
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { diskRoom } from "../disk-room.ts";
import { isBcryptHash } from "../auth/bcrypt.ts";
import type { UnibusConfig } from "../config/load.ts";
import { formatBytes } from "../format.ts";
import { nameFromHost } from "./facts.ts";
import { nativeBcryptFits } from "../runtime-password.ts";
import { dataDirLayout } from "../data-dir.ts";
import { readMembers } from "../membership/members.ts";

/** STARTUP_HASH_WARN_COUNT is how many passwords hashed at every start earn a warning: about 70 ms each natively, several times that on a Raspberry Pi. */
export const STARTUP_HASH_WARN_COUNT = 16;

/**
 * startupHashWarnings says which passwords cost time at every start: client
 * and system-account passwords given as files, variables or inline are
 * bcrypt-hashed by unibus at each start (natively about 70 ms each; beyond 72
 * bytes in JavaScript, about 3 s each). Edge secrets cost nothing (nats-server
 * gets them as they are).
 */
export function startupHashWarnings(config: UnibusConfig): PreflightWarning[] {
  const out: PreflightWarning[] = [];
  const tables = [["client", config.client.users], ["system_account", config.systemAccount.users]] as const;
  let hashed = 0;
  for (const [table, users] of tables) {
    users.forEach((u, i) => {
      const value = u.password.value;
      if (!value || isBcryptHash(value)) return;
      hashed++;
      if (!nativeBcryptFits(value)) {
        out.push({
          key: `${table}.users[${i}].${u.password.key}`,
          message: `the password of ${table} user "${u.user}" (${u.password.source}) is longer than 72 bytes, so unibus hashes it in JavaScript at every start (about 3 s with the JIT tiers off, longer on a Raspberry Pi); give it as password_hash (printf '%s' "$PASSWORD" | unibus passwd) in ${config.file}, or use a shorter password`,
          fields: { user: u.user },
        });
      }
    });
  }
  if (hashed >= STARTUP_HASH_WARN_COUNT) {
    out.push({
      key: "client.users",
      message: `${hashed} passwords from password_file, password_env or password are bcrypt-hashed at every start and reload (about 70 ms each, several times that on a Raspberry Pi); give them as password_hash (printf '%s' "$PASSWORD" | unibus passwd) in ${config.file} to start without that cost`,
      fields: { passwords: hashed },
    });
  }
  return out;
}

/** PreflightWarning is one thing that will probably fail, with the key it is about. */
export interface PreflightWarning { key: string; message: string; fields: Record<string, string | number> }

/** diskRoomWarning says when jetstream.max_file exceeds the free disk plus what JetStream already stores. */
export function diskRoomWarning(config: UnibusConfig): PreflightWarning | undefined {
  if (!config.jetstream.enabled) return undefined;
  const room = diskRoom(config.node.dataDir);
  if (!room) return undefined;
  const free = room.freeBytes;
  const stored = room.storedBytes;
  const max = config.jetstream.maxFile;
  if (max <= free + stored) return undefined;
  const suggest = Math.max(1, Math.floor(((free + stored) * 0.75) / (1024 * 1024)));
  return {
    key: "jetstream.max_file",
    message: `jetstream.max_file is ${formatBytes(max)} but the disk of ${config.node.dataDir} has only ${formatBytes(free)} free${stored ? ` (plus ${formatBytes(stored)} already stored)` : ""}: streams can fill the disk to 100 %; set jetstream.max_file = "${suggest}MiB" or less in ${config.file}, or leave max_file out (unibus then takes 75 % of what the disk can hold), or move node.data_dir to a bigger disk`,
    fields: { max_file: max, free_bytes: free, stored_bytes: stored, data_dir: config.node.dataDir },
  };
}

/**
 * knownMembers is how many members this node knows of: itself and the members
 * list's active members (an unreadable or missing list counts none).
 */
function knownMembers(config: UnibusConfig): number {
  const active = readMembers(dataDirLayout(config.node.dataDir).members).filter((m) => !m.removed).map((m) => m.name);
  return new Set([config.node.name, ...active]).size;
}

/** preflightWarnings lists every warning for a loaded config. */
export function preflightWarnings(config: UnibusConfig): PreflightWarning[] {
  const out: PreflightWarning[] = [];
  const backupDir = config.backup.dir;
  if (config.backup.enabled && !config.backup.dirIsDefault && !existsSync(backupDir) && !existsSync(dirname(backupDir))) {
    out.push({
      key: "backup.dir",
      message: `[backup] dir ${backupDir} cannot be made: ${dirname(backupDir)} does not exist (is its disk mounted?); scheduled backups fail, and unibus status says so, until it does`,
      fields: { dir: backupDir },
    });
  }
  if (config.cluster && nameFromHost(config)) {
    out.push({
      key: "node.name",
      message: `[node] name is not set, so this clustered node takes its name from the host name "${config.node.name}"; nodes whose hosts share a name (every Raspberry Pi is "raspberrypi" until renamed) refuse each other's routes as duplicates; set [node] name = "…" (unique per node) in ${config.file}`,
      fields: { name: config.node.name },
    });
  }
  // A box that joined lists only the members of that moment in cluster.peers; the members list
  // (<data_dir>/members.json) knows those that joined after it: a third one makes it no 2-node cluster.
  if (config.cluster && config.cluster.routes.length === 1 && knownMembers(config) <= 2) {
    out.push({
      key: "cluster.peers",
      message: `a cluster of 2 nodes stops JetStream writes when either node is down (a majority of 2 is 2); add a third node to cluster.peers in ${config.file} to survive one failure`,
      fields: { nodes: 2 },
    });
  }
  config.leafnodes?.remotes.forEach((r, i) => {
    if (r.secret?.value && isBcryptHash(r.secret.value)) {
      out.push({
        key: `leafnodes.remotes[${i}].${r.secret.key}`,
        message: `the secret for the leaf uplink ${r.label} (${r.secret.source}) is a bcrypt hash, but an edge must send the secret itself: put the plaintext secret there (the hub keeps the hash)`,
        fields: { url: r.label },
      });
    }
    if (!r.caFile) {
      out.push({
        key: `leafnodes.remotes[${i}].ca_file`,
        message: `the leaf uplink ${r.label} has no ca_file: a hub with [tls] presents a certificate from its own cluster CA, which this node cannot verify without it (the uplink then fails with "x509: certificate signed by unknown authority"); copy the hub's ca.pem here and set ca_file in that [[leafnodes.remotes]] entry of ${config.file}`,
        fields: { url: r.label },
      });
    }
  });
  const remotes = config.leafnodes?.remotes ?? [];
  if (remotes.length > 1) {
    out.push({
      key: "leafnodes.remotes",
      message: `${remotes.length} [[leafnodes.remotes]] entries all carry this node's one account: if two of them reach the same hub cluster (any of its nodes), every message crosses once per entry and subscribers get duplicates; for one hub cluster use one entry and list its nodes in urls = [...] in ${config.file}`,
      fields: { remotes: remotes.length },
    });
  }
  out.push(...startupHashWarnings(config));
  const disk = diskRoomWarning(config);
  if (disk) out.push(disk);
  return out;
}
