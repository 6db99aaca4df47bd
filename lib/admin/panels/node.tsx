/**
 * node.tsx is the node panel: name, versions, uptimes, data dir and its
 * disk, and nats-server's memory and CPU.
 */
import type { DiskUsage } from "../disk-usage.ts";
import { formatBytes, formatCount, formatSeconds } from "../../format.ts";
import type { Versions } from "../overview-inputs.ts";
import { overviewPanel, type PanelInputs } from "../panel.ts";
import { ErrorLine, Row } from "./_parts.tsx";

/** NodeView is what the node panel shows (and /api/node serves). */
export interface NodeView {
  name: string;
  serverId?: string;
  versions: Versions & { natsRunning?: string; go?: string };
  natsUptime?: string;
  unibusUptimeSeconds: number;
  dataDir: string;
  disk: DiskUsage;
  memoryBytes?: number;
  cpuPercent?: number;
  subscriptions?: number;
  error?: string;
}

/** nodeView builds the node panel's view from /varz and the config. */
export function nodeView(i: PanelInputs): NodeView {
  const v = i.snapshot.varz.ok ? i.snapshot.varz.data : undefined;
  return {
    name: v?.server_name ?? i.config.node.name,
    ...(v ? { serverId: v.server_id } : {}),
    versions: { ...i.versions, ...(v ? { natsRunning: v.version, go: v.go } : {}) },
    ...(v ? { natsUptime: v.uptime, memoryBytes: v.mem, cpuPercent: v.cpu, subscriptions: v.subscriptions } : {}),
    unibusUptimeSeconds: Math.max(0, Math.round(((i.now ?? Date.now()) - i.startedAt) / 1000)),
    dataDir: i.config.node.dataDir,
    disk: i.disk,
    ...(!i.snapshot.varz.ok ? { error: i.snapshot.varz.error } : {}),
  };
}

/** nodePanel shows which node this is and what it runs. */
export const nodePanel = overviewPanel({
  id: "node",
  title: "Node",
  view: nodeView,
  render: (n) => {
    const d = n.disk;
    return (
      <>
        <h2>Node</h2>
        <ErrorLine text={n.error} />
        <table>
          <Row k="name"><strong id="node-name">{n.name}</strong></Row>
          <Row k="versions">unibus {n.versions.unibus} · nats-server {n.versions.natsRunning ?? n.versions.nats}{n.versions.go ? ` · ${n.versions.go}` : ""} · {n.versions.target}</Row>
          <Row k="uptime">unibus {formatSeconds(n.unibusUptimeSeconds)}{n.natsUptime ? ` · nats-server ${n.natsUptime}` : ""}</Row>
          <Row k="data dir">{n.dataDir}</Row>
          <Row k="data dir usage">{formatBytes(d.usedBytes)} in {d.files} files{d.partial ? " (at least)" : ""}{d.fsFreeBytes !== undefined ? ` · ${formatBytes(d.fsFreeBytes)} free of ${formatBytes(d.fsTotalBytes)}` : ""}</Row>
          {n.memoryBytes !== undefined ? <Row k="nats memory / cpu">{formatBytes(n.memoryBytes)} · {n.cpuPercent}%</Row> : null}
          {n.subscriptions !== undefined ? <Row k="subscriptions">{formatCount(n.subscriptions)}</Row> : null}
        </table>
        <ErrorLine text={d.error} />
      </>
    );
  },
});
