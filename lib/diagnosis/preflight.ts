/**
 * preflight.ts finds what can be known to go wrong before nats-server starts,
 * for `config check` and for the log at every start: a clustered node that
 * would take its name from the host name, a secret that holds a bcrypt hash
 * where the plaintext is needed, a leaf uplink that cannot verify its hub, a
 * JetStream file limit larger than the disk, a two-node cluster.
 */
import { diskRoom } from "../disk-room.ts";
import { isBcryptHash } from "../auth/bcrypt.ts";
import type { UnibusConfig } from "../config/load.ts";
import { formatBytes } from "../format.ts";
import { nameFromHost } from "./facts.ts";

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

/** preflightWarnings lists every warning for a loaded config. */
export function preflightWarnings(config: UnibusConfig): PreflightWarning[] {
  const out: PreflightWarning[] = [];
  if (config.cluster && nameFromHost(config)) {
    out.push({
      key: "node.name",
      message: `[node] name is not set, so this clustered node takes its name from the host name "${config.node.name}"; nodes whose hosts share a name (every Raspberry Pi is "raspberrypi" until renamed) refuse each other's routes as duplicates; set [node] name = "…" (unique per node) in ${config.file}`,
      fields: { name: config.node.name },
    });
  }
  if (config.cluster && config.cluster.routes.length === 1) {
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
        message: `the secret for the leaf uplink ${r.url.text} (${r.secret.source}) is a bcrypt hash, but an edge must send the secret itself: put the plaintext secret there (the hub keeps the hash)`,
        fields: { url: r.url.text },
      });
    }
    if (!r.caFile) {
      out.push({
        key: `leafnodes.remotes[${i}].ca_file`,
        message: `the leaf uplink ${r.url.text} has no ca_file: a hub with [tls] presents a certificate from its own cluster CA, which this node cannot verify without it (the uplink then fails with "x509: certificate signed by unknown authority"); copy the hub's ca.pem here and set ca_file in that [[leafnodes.remotes]] entry of ${config.file}`,
        fields: { url: r.url.text },
      });
    }
  });
  const disk = diskRoomWarning(config);
  if (disk) out.push(disk);
  return out;
}
