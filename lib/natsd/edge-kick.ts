/**
 * edge-kick.ts disconnects the edges whose sign-in a reload took away.
 * nats-server re-checks client connections against the new users on reload
 * but not leaf connections, so an edge whose [[leafnodes.users]] entry was
 * removed (or whose secret changed) would stay connected until it dropped
 * by itself. After a reload, unibus finds those edges' leaf connections in
 * /connz (which names the user each signed in as) and closes them through
 * the system account (`$SYS.REQ.SERVER.<id>.KICK`); they cannot sign in
 * again. Every other edge keeps its connection.
 */
import { edgeSignIns } from "../config/section-leafnodes.ts";
import type { UnibusConfig } from "../config/load.ts";
import type { Connz, Varz } from "./monitoring-types.ts";
import type { MonitorClient } from "./monitor.ts";
import type { SystemClient } from "./system-client.ts";

/** revokedEdgeUsers names the edge users (and enrolled edges' public nkeys) that signed in before and cannot (with the same secret) after. */
export function revokedEdgeUsers(previous: UnibusConfig, next: UnibusConfig): string[] {
  const now = new Map(edgeSignIns(next).map((e) => [e.user, e.secret]));
  const keys = new Set((next.leafnodes?.enrolled ?? []).map((e) => e.nkey));
  return [
    ...edgeSignIns(previous).filter((e) => now.get(e.user) !== e.secret).map((e) => e.user),
    ...(previous.leafnodes?.enrolled ?? []).filter((e) => !keys.has(e.nkey)).map((e) => e.nkey),
  ];
}

/** kickRevokedEdges closes the leaf connections of revoked edge users and returns their user names. */
export async function kickRevokedEdges(users: string[], monitor: MonitorClient, connectSystem: () => Promise<SystemClient>): Promise<string[]> {
  if (users.length === 0) return [];
  const revoked = new Set(users);
  const connz = await monitor.get<Connz>("connz", "auth=true&limit=1024");
  const targets = (connz.connections ?? []).filter((c) => (c.kind ?? "").toLowerCase().startsWith("leaf") && c.authorized_user && revoked.has(c.authorized_user));
  if (targets.length === 0) return [];
  const varz = await monitor.get<Varz>("varz");
  const sys = await connectSystem();
  try {
    for (const c of targets) await sys.request(`$SYS.REQ.SERVER.${varz.server_id}.KICK`, { cid: c.cid });
  } finally {
    await sys.close();
  }
  return targets.map((c) => c.authorized_user!);
}
