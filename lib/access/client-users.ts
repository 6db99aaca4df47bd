/**
 * client-users.ts decides who may sign in on a member: the users and nkeys
 * written in its node.toml ([[client.users]], [[client.nkeys]]) and the
 * cluster's users (lib/access/ledger.ts). The file wins a clash: an entry
 * of the cluster with the name of a file user, or the public key of a file
 * nkey, is left out on that box (and listed as shadowed by `config check`
 * and `unibus user list`), because the file is what the box's own
 * administrator wrote and can read, and a cluster change must not silently
 * take a hand-configured service's sign-in away. Names of system-account
 * users are left out too: nats-server keeps one list of user names.
 */
import type { ClientConfig, ClientNkey, ClientUser, UnibusConfig } from "../config/config-types.ts";
import { AccessLedger, type AccessEntry } from "./ledger.ts";

/**
 * NOBODY_NKEY stands in for the users of a clustered node whose cluster has
 * none yet: nats-server admits anyone while its users table is empty, and a
 * member's client port is on the network before the first `unibus user add`.
 * Its seed was thrown away, and it is rendered with every subject denied.
 */
export const NOBODY_NKEY = "UC26Q733YPCDNF74JMPKP57BWAGHCNSH3B46SA5ZD5X2UPHVVNDNW5NJ";

/** ClusterAccess is what a member admits beyond its file, and what it leaves out. */
export interface ClusterAccess {
  users: ClientUser[];
  nkeys: ClientNkey[];
  /** Cluster entries a file entry (or a system-account user) overrides on this box, by name. */
  shadowed: string[];
}

/** usesClusterAccess tells whether a node takes the cluster's users: a member of a cluster that does not let anonymous clients in. */
export function usesClusterAccess(config: UnibusConfig): boolean {
  return Boolean(config.cluster && config.tls) && !config.client.allowAnonymous;
}

/** clusterAccess sorts the cluster's active entries into what this node renders and what its file overrides. */
export function clusterAccess(config: UnibusConfig, entries: readonly AccessEntry[]): ClusterAccess {
  const out: ClusterAccess = { users: [], nkeys: [], shadowed: [] };
  if (!usesClusterAccess(config)) return out;
  const names = new Set([...config.client.users.map((u) => u.user), ...config.systemAccount.users.map((u) => u.user)]);
  const keys = new Set([...config.client.nkeys.map((n) => n.publicKey), ...config.systemAccount.nkeys]);
  for (const e of entries) {
    if (e.removed) continue;
    if (e.kind === "password") {
      if (names.has(e.name)) {
        out.shadowed.push(e.name);
        continue;
      }
      out.users.push({
        user: e.name,
        password: { source: "cluster", key: "password_hash", value: e.passwordHash! },
        ...(e.publish ? { publish: e.publish } : {}),
        ...(e.subscribe ? { subscribe: e.subscribe } : {}),
        ...(e.connections ? { connectionTypes: e.connections } : {}),
      });
    } else {
      if (keys.has(e.publicKey!)) {
        out.shadowed.push(e.name);
        continue;
      }
      keys.add(e.publicKey!);
      out.nkeys.push({ publicKey: e.publicKey!, publish: e.publish?.allow ?? [], subscribe: e.subscribe?.allow ?? [], ...(e.connections ? { connectionTypes: e.connections } : {}) });
    }
  }
  return out;
}

/**
 * withClusterUsers is the [client] table a member renders: its file's users
 * and nkeys, then the cluster's (file first: nats-server checks them in
 * order, and the file wins a clash anyway).
 */
export function withClusterUsers(config: UnibusConfig, entries: readonly AccessEntry[]): ClientConfig {
  const extra = clusterAccess(config, entries);
  return { ...config.client, users: [...config.client.users, ...extra.users], nkeys: [...config.client.nkeys, ...extra.nkeys] };
}

/**
 * clusterUsersView is what `config check` says about the cluster's users on
 * this member, read from its local copy: how many it admits, their names,
 * which the file overrides, and why none when the copy cannot be read.
 */
export function clusterUsersView(config: UnibusConfig): { count?: { users: number; nkeys: number }; lines: string[] } {
  if (!config.cluster || !config.tls) return { lines: [] };
  let ledger: AccessLedger;
  try {
    ledger = new AccessLedger(config.node.dataDir);
  } catch (err) {
    return { lines: [`cluster users: not shown (${(err as Error).message}); sudo unibus user list shows them`] };
  }
  const entries = ledger.active();
  const access = clusterAccess(config, entries);
  const lines = [
    entries.length
      ? `cluster users (this member's copy, ${ledger.file}): ${entries.map((e) => (e.kind === "nkey" ? `${e.name} (nkey)` : e.name)).join(", ")}`
      : `cluster users: none yet (${ledger.file}); add one on any member: unibus user add NAME`,
  ];
  if (!usesClusterAccess(config)) lines.push("allow_anonymous = true: this box does not apply the cluster's users");
  if (access.shadowed.length) lines.push(`this file's users win on this box over the cluster's: ${access.shadowed.join(", ")}`);
  return { count: { users: access.users.length, nkeys: access.nkeys.length }, lines };
}
