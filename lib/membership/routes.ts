/**
 * routes.ts puts the members list into what a node dials: the configured
 * peers, plus every member that joined later, minus members that were
 * removed. nats gossips routes while running; this is what makes the next
 * start find the members that joined after the config was written.
 */
import type { UnibusConfig } from "../config/load.ts";
import { parsePeer, type HostPort } from "../config/units.ts";
import type { MemberRecord } from "./members.ts";

/** withMemberRoutes returns the config with cluster.routes (and peers) extended by the members list. */
export function withMemberRoutes(config: UnibusConfig, members: readonly MemberRecord[]): UnibusConfig {
  const cluster = config.cluster;
  if (!cluster || members.length === 0) return config;
  const key = (hp: HostPort) => hp.text.toLowerCase();
  const self = cluster.self ? key(cluster.self) : undefined;
  const removed = new Set<string>();
  const added: HostPort[] = [];
  for (const m of members) {
    const hp = parsePeer(m.route);
    if (typeof hp === "string" || m.name === config.node.name) continue;
    if (m.removed) removed.add(key(hp));
    else added.push(hp);
  }
  for (const hp of added) removed.delete(key(hp)); // a replacement took the address over
  const routes: HostPort[] = [];
  const seen = new Set<string>();
  for (const hp of [...cluster.routes, ...added]) {
    const k = key(hp);
    if (seen.has(k) || k === self || removed.has(k)) continue;
    seen.add(k);
    routes.push(hp);
  }
  return { ...config, cluster: { ...cluster, routes } };
}
