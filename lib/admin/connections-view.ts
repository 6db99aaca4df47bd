/**
 * connections-view.ts is the admin page's connections panel: every kind of
 * connection a person wants to recognise, named the way they know it (the
 * NATS connection name, the MQTT client id, WebSocket, leaf node), with who
 * signed in, and the slow consumers nats-server counted or cut off, so a
 * `varz.slow_consumers` of 1 is visible rather than a number in /metrics.
 */
import type { ConnInfo, Connz, LeafInfo, Varz } from "../natsd/monitoring-types.ts";
import type { Fetched } from "../natsd/snapshot.ts";
import { joinHostPort } from "../config/units.ts";

/** ConnectionKind is how a connection reached the node. */
export type ConnectionKind = "NATS" | "MQTT" | "WebSocket" | "leaf";

/** ConnectionRow is one connection of the panel. */
export interface ConnectionRow {
  /** nats's connection id (leaf connections have their own numbering). */
  cid: number;
  kind: ConnectionKind;
  /** What people call it: the MQTT client id, the NATS connection name or the leaf's server name; "" when unnamed. */
  name: string;
  /** The signed-in user (or nkey), when nats-server reports one. */
  user?: string;
  account?: string;
  address: string;
  lang: string;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  subscriptions: number;
  pendingBytes: number;
  /** Why this connection is a slow consumer now (stalled, or its pending buffer filling), if it is. */
  slow?: string;
  rtt?: string;
  /** For a closed connection: when and why nats-server closed it. */
  closed?: { at?: string; reason: string };
}

/** ConnectionsView is the connections panel. */
export interface ConnectionsView {
  count?: number;
  totalEver?: number;
  /** varz.slow_consumers: connections nats-server found too slow since it started. */
  slowConsumers?: number;
  /** varz.slow_consumer_stats, by kind of connection. */
  slowByKind?: { clients: number; routes: number; gateways: number; leafs: number };
  rows: ConnectionRow[];
  /** The last connections nats-server closed for being slow consumers. */
  slowClosed: ConnectionRow[];
  error?: string;
}

/** SLOW_PENDING_SHARE: an open connection whose pending buffer is over this share of max_pending is flagged slow. */
const SLOW_PENDING_SHARE = 0.25;

function address(ip: string, port: number): string {
  return joinHostPort(ip, port);
}

function kindOf(c: ConnInfo): ConnectionKind {
  if ((c.kind ?? "").toLowerCase().startsWith("leaf")) return "leaf";
  const type = (c.type ?? "").toLowerCase();
  if (type === "mqtt" || c.mqtt_client) return "MQTT";
  if (type === "websocket") return "WebSocket";
  return "NATS";
}

function slowness(c: ConnInfo, maxPending: number | undefined): string | undefined {
  if (c.stalls) return `stalled ${c.stalls} time${c.stalls === 1 ? "" : "s"}: it reads slower than it is sent to`;
  if (maxPending && c.pending_bytes && c.pending_bytes >= maxPending * SLOW_PENDING_SHARE) return `${Math.round((100 * c.pending_bytes) / maxPending)}% of max_pending waiting to be sent`;
  return undefined;
}

/** connectionRow turns one /connz entry into a row. */
export function connectionRow(c: ConnInfo, maxPending?: number): ConnectionRow {
  const kind = kindOf(c);
  const slow = slowness(c, maxPending);
  return {
    cid: c.cid,
    kind,
    name: kind === "MQTT" ? (c.mqtt_client ?? c.name ?? "") : (c.name ?? ""),
    ...(c.authorized_user ? { user: c.authorized_user } : {}),
    ...(c.account ? { account: c.account } : {}),
    address: address(c.ip, c.port),
    lang: [c.lang, c.version].filter(Boolean).join(" "),
    inMsgs: c.in_msgs,
    outMsgs: c.out_msgs,
    inBytes: c.in_bytes,
    outBytes: c.out_bytes,
    subscriptions: c.subscriptions,
    pendingBytes: c.pending_bytes ?? 0,
    ...(slow ? { slow } : {}),
    ...(c.rtt ? { rtt: c.rtt } : {}),
    ...(c.reason ? { closed: { reason: c.reason, ...(c.stop ? { at: c.stop } : {}) } } : {}),
  };
}

function leafRow(l: LeafInfo, i: number): ConnectionRow {
  return {
    cid: l.id ?? i + 1,
    kind: "leaf",
    name: l.name ?? "",
    ...(l.account ? { account: l.account } : {}),
    address: address(l.ip, l.port),
    lang: l.is_spoke ? "uplink (this node dialed)" : "edge (dialed this node)",
    inMsgs: l.in_msgs ?? 0,
    outMsgs: l.out_msgs ?? 0,
    inBytes: l.in_bytes ?? 0,
    outBytes: l.out_bytes ?? 0,
    subscriptions: l.subscriptions ?? 0,
    pendingBytes: 0,
    ...(l.rtt ? { rtt: l.rtt } : {}),
  };
}

/** connectionsView builds the panel from /varz, /connz (open and recently closed) and /leafz. */
export function connectionsView(varz: Fetched<Varz>, connz: Fetched<Connz>, leafz: Fetched<{ leafs: LeafInfo[] | null }>, closed?: Fetched<Connz>): ConnectionsView {
  const v = varz.ok ? varz.data : undefined;
  const stats = v?.slow_consumer_stats as ConnectionsView["slowByKind"] | undefined;
  const base = {
    ...(v ? { totalEver: v.total_connections, slowConsumers: v.slow_consumers } : {}),
    ...(stats ? { slowByKind: stats } : {}),
  };
  const maxPending = typeof v?.max_pending === "number" ? v.max_pending : undefined;
  const slowClosed = closed?.ok ? (closed.data.connections ?? []).filter((c) => /slow consumer/i.test(c.reason ?? "")).map((c) => connectionRow(c, maxPending)) : [];
  const leafs = leafz.ok ? (leafz.data.leafs ?? []).map(leafRow) : [];
  if (!connz.ok) return { ...base, rows: leafs, slowClosed, error: connz.error, ...(v ? { count: v.connections } : {}) };
  const rows = (connz.data.connections ?? []).map((c) => connectionRow(c, maxPending));
  // /connz lists leaf connections too; /leafz adds the ones it left out (and says which side dialed).
  const byAddress = new Map(rows.map((r) => [r.address, r]));
  for (const l of leafs) {
    const seen = byAddress.get(l.address);
    if (seen) Object.assign(seen, { kind: "leaf" as const, lang: l.lang, ...(l.name ? { name: l.name } : {}), ...(seen.account ? {} : l.account ? { account: l.account } : {}) });
    else rows.push(l);
  }
  return { ...base, count: connz.data.num_connections, rows, slowClosed };
}
