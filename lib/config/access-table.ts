/**
 * access-table.ts answers "who can connect to this node, from where" for
 * `config check`: one row per listener with its address, whether it speaks
 * TLS and how clients sign in.
 */
import type { UnibusConfig } from "./config-types.ts";
import { clientListeners } from "./section-client.ts";
import { usesClusterAccess } from "../access/client-users.ts";
import { isLoopback, isWildcard } from "./units.ts";

/** AccessRow is one listener of the table. */
export interface AccessRow { listener: string; address: string; from: string; tls: "yes" | "no"; auth: string }

function reach(host: string): string {
  if (isLoopback(host)) return "this host only";
  if (isWildcard(host)) return "any network";
  return "its network";
}

/** accessRows lists every listener clients, devices or edges can connect to. */
function accessRows(config: UnibusConfig, cluster?: ClusterUserCount): AccessRow[] {
  const users = config.client.users.length + (cluster?.users ?? 0);
  const nkeys = config.client.nkeys.length + (cluster?.nkeys ?? 0);
  const fromCluster = cluster && cluster.users + cluster.nkeys > 0 ? ` (${cluster.users + cluster.nkeys} from the cluster)` : "";
  const clientAuth = (nkeysApply: boolean): string => {
    const parts = [users ? `users(${users})` : "", nkeysApply && nkeys ? `nkeys(${nkeys})` : ""].filter(Boolean);
    if (parts.length) return parts.join(", ") + fromCluster;
    if (users || nkeys) return "nobody (nkeys cannot sign in over MQTT)";
    return usesClusterAccess(config) ? "the cluster's users (none yet: unibus user add)" : "anonymous";
  };
  const sys = config.systemAccount;
  // The system account signs in on the client port: operators' users and nkeys, and the node's own key.
  const system = `system account (${[sys.users.length ? `users(${sys.users.length})` : "", sys.nkeys.length ? `nkeys(${sys.nkeys.length})` : "", "the node's key"].filter(Boolean).join(", ")})`;
  const rows: AccessRow[] = clientListeners(config).map((l) => ({
    listener: l.name,
    address: l.listen.text,
    from: reach(l.listen.host),
    tls: l.tls ? "yes" : "no",
    auth: l.name === "client" ? `${clientAuth(true)}; ${system}` : clientAuth(l.name !== "mqtt"),
  }));
  const leaf = config.leafnodes;
  if (leaf?.listen) {
    const auth = leaf.secret ? "shared secret" : leaf.users.length ? `users(${leaf.users.length})` : "anonymous";
    rows.push({ listener: "leafnodes", address: leaf.listen.text, from: reach(leaf.listen.host), tls: config.tls ? "yes" : "no", auth });
  }
  return rows;
}

/** ClusterUserCount is how many of the cluster's users and nkeys this member admits (lib/access/client-users.ts). */
export interface ClusterUserCount { users: number; nkeys: number }

/**
 * accessTable renders the rows as an aligned text table, each line prefixed
 * (e.g. "# " to stay valid TOML); cluster counts the cluster's users this
 * member admits beside the file's.
 */
export function accessTable(config: UnibusConfig, prefix = "", cluster?: ClusterUserCount): string {
  const head: AccessRow = { listener: "listener", address: "address", from: "reachable from", tls: "tls" as "yes", auth: "auth" };
  const rows = [head, ...accessRows(config, cluster)];
  const keys = ["listener", "address", "from", "tls", "auth"] as const;
  const width = keys.map((k) => Math.max(...rows.map((r) => r[k].length)));
  return rows.map((r) => prefix + keys.map((k, i) => (i === keys.length - 1 ? r[k] : r[k].padEnd(width[i]!))).join("  ")).join("\n") + "\n";
}
