/**
 * data-dir.ts names every runtime path in a node's data dir, the way k3s
 * names its runtime paths as the fields of one struct: no other module joins
 * a file name onto a data dir. A new file in the data dir is one field here,
 * which is also the list `install.sh --purge`, backups and the control
 * channel's owner rules read from.
 *
 * The data dir holds what a node makes and keeps for itself (nats-server's
 * rendered config and JetStream store, the renewed certificate, members,
 * records for `unibus status`); the operator's inputs (config, CA, route
 * secret, join tokens) live beside the config file instead.
 */
import { join } from "node:path";

/** TLS_FILE_NAMES are the file names of a node's TLS folder (`<data_dir>/tls`, and `certs/` beside a joined config). */
export const TLS_FILE_NAMES = {
  nodeCert: "node.pem",
  nodeKey: "node-key.pem",
  trustBundle: "ca-bundle.pem",
} as const;

/** DataDirLayout is every path a node uses in its data dir; all are absolute when the data dir is. */
export interface DataDirLayout {
  /** The data dir itself (0700, owned by the service user). */
  root: string;
  /** nats-server's store_dir (it makes `jetstream/` inside). */
  storeDir: string;
  /** JetStream's files, for disk accounting. */
  jetstream: string;
  /** The rendered nats-server config (0600: it holds secrets). */
  natsConfig: string;
  /** nats-server's pid file (stale-child clean-up). */
  natsPid: string;
  /** unibus's own pid file, held with an flock while the node runs. */
  lock: string;
  /** Where the embedded nats-server binary is extracted. */
  bin: string;
  /** The node's own TLS folder: renewed certificate and key, trust bundle. */
  tls: string;
  nodeCert: string;
  nodeKey: string;
  /** The CA bundle nats-server verifies peers with (kept through CA rotations). */
  trustBundle: string;
  /** An enrolled edge's uplink folder: what it keeps of its hub cluster (lib/membership/edge-agent.ts). */
  uplink: string;
  /** An enrolled edge's certificate renewed through the hub's CA holders, and its key. */
  uplinkCert: string;
  uplinkKey: string;
  /** The hub CAs an enrolled edge trusts (kept through the hub's CA rotations); its uplink's ca_file once present. */
  uplinkTrust: string;
  /** The hub's CA holders' join addresses an enrolled edge checks in with, and its last check-in's findings. */
  uplinkState: string;
  /** The cluster's client users as this member last knew them (0600; lib/access/ledger.ts): what a backup of the cluster's users takes. */
  clusterAccess: string;
  /** What the access replica found (lib/access/replica-state.ts), for `unibus status`. */
  clusterAccessState: string;
  /** The members list every node merges from the CA holders. */
  members: string;
  /** The enrolled edges every hub node merges from the CA holders (public nkeys only). */
  edges: string;
  /** A hub's view of its fleet (lib/fleet/fleet-watch.ts), for `unibus status`. */
  fleet: string;
  /** An edge's store-and-forward stream as last seen (lib/fleet/forward-watch.ts), for `unibus status`. */
  forward: string;
  /** This data dir's random id: two boxes with one name have two ids. */
  nodeId: string;
  /** The membership agent's last findings (for `unibus status` while the node is down). */
  membershipState: string;
  /** Present when this node left or was removed from its cluster. */
  leftMarker: string;
  /** The CA holder's rotation phase (for `unibus status` while the node is down). */
  rotationPhase: string;
  /** The last reload's outcome (`unibus reload` falls back to it when the control socket is absent). */
  reloadOutcome: string;
  /** Which config file version the node applied, and a copy of its text. */
  appliedConfig: string;
  appliedConfigText: string;
  /** The last sequence each stream's leader reported, for `unibus recover` to say what a lost majority took with it. */
  streamMarks: string;
  /** What a nats-server that is not ready yet is doing (a JetStream restore), for `unibus status`; gone once it is ready. */
  startProgress: string;
  /** The book of nats-server log events status explains. */
  natsEvents: string;
  /** The generated admin token, when [admin] token_file is not set. */
  adminToken: string;
  /** unibus's own system-account nkey seed. */
  systemSeed: string;
  /** The control channel's unix socket (lib/control/server.ts). */
  controlSocket: string;
  /** unibus's own nkey seed in the clients' account, for backup and restore (lib/natsd/jetstream-credential.ts). */
  jetstreamSeed: string;
  /** Prefix of the temporary folder a restore keeps the streams it replaces in until it succeeded (lib/backup/restore.ts). */
  restoreUndoPrefix: string;
  /** The scheduled backups' last outcome, for `unibus status` (lib/backup/state.ts). */
  backupState: string;
}

/** dataDirLayout returns the named paths of one data dir; it touches no file. */
export function dataDirLayout(dataDir: string): DataDirLayout {
  const tls = join(dataDir, "tls");
  return {
    root: dataDir,
    storeDir: dataDir,
    jetstream: join(dataDir, "jetstream"),
    natsConfig: join(dataDir, "nats-server.conf"),
    natsPid: join(dataDir, "nats-server.pid"),
    lock: join(dataDir, "unibus.pid"),
    bin: join(dataDir, "bin"),
    tls,
    nodeCert: join(tls, TLS_FILE_NAMES.nodeCert),
    nodeKey: join(tls, TLS_FILE_NAMES.nodeKey),
    trustBundle: join(tls, TLS_FILE_NAMES.trustBundle),
    uplink: join(dataDir, "uplink"),
    uplinkCert: join(dataDir, "uplink", TLS_FILE_NAMES.nodeCert),
    uplinkKey: join(dataDir, "uplink", TLS_FILE_NAMES.nodeKey),
    uplinkTrust: join(dataDir, "uplink", TLS_FILE_NAMES.trustBundle),
    uplinkState: join(dataDir, "uplink", "hub.json"),
    clusterAccess: join(dataDir, "cluster-access.json"),
    clusterAccessState: join(dataDir, "cluster-access-state.json"),
    members: join(dataDir, "members.json"),
    edges: join(dataDir, "edges.json"),
    fleet: join(dataDir, "fleet.json"),
    forward: join(dataDir, "forward.json"),
    nodeId: join(dataDir, "node-id"),
    membershipState: join(dataDir, "membership-state.json"),
    leftMarker: join(dataDir, "left-cluster.json"),
    rotationPhase: join(dataDir, "ca-rotation.json"),
    reloadOutcome: join(dataDir, "reload.json"),
    appliedConfig: join(dataDir, "applied-config.json"),
    appliedConfigText: join(dataDir, "applied-config.toml"),
    startProgress: join(dataDir, "start-progress.json"),
    streamMarks: join(dataDir, "stream-marks.json"),
    natsEvents: join(dataDir, "nats-events.json"),
    adminToken: join(dataDir, "admin.token"),
    systemSeed: join(dataDir, "system-account.nk"),
    controlSocket: join(dataDir, "control.sock"),
    jetstreamSeed: join(dataDir, "jetstream-account.nk"),
    restoreUndoPrefix: join(dataDir, ".restore-undo-"),
    backupState: join(dataDir, "backup-state.json"),
  };
}
