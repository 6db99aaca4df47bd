/**
 * status.ts implements `unibus status --config FILE`: ask the running node's
 * nats-server (monitoring on loopback) whether its cluster is whole. Exit 0
 * when healthy, 1 otherwise, so scripts and probes can use it directly.
 */
import { loadConfig } from "../config/load.ts";
import { gatherClusterStatus, type ClusterStatus } from "../cluster/status.ts";
import { ExitCode } from "../errors.ts";
import { NODE_CERT_FILE, describeCertificate, readCertificateFile } from "../pki/index.ts";
import type { UnibusConfig } from "../config/load.ts";
import { natsPaths } from "../config/render.ts";
import { join } from "node:path";
import { configPath, parseFlags } from "./_flags.ts";


/** run prints the node's cluster status and returns 0 when it is healthy. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    config: { type: "string", short: "c" },
    json: { type: "boolean", default: false },
  });
  const config = loadConfig(configPath(values.config));
  const status = await gatherClusterStatus(config);
  const certificate = await certificateLine(config);
  process.stdout.write(values.json ? JSON.stringify({ ...status, certificate }, null, 2) + "\n" : formatStatus(status) + (certificate ? `  certificate   ${certificate}\n` : ""));
  return status.healthy ? ExitCode.ok : ExitCode.failure;
}

/** formatStatus renders a ClusterStatus for a terminal. */
export function formatStatus(s: ClusterStatus): string {
  const lines = [`node ${s.node}${s.cluster ? ` (cluster ${s.cluster})` : ""}: ${s.healthy ? "healthy" : "NOT healthy"}`];
  lines.push(`  nats-server   ${s.reachable ? (s.health.ok ? "ready" : `not ready: ${s.health.detail}`) : "not reachable"}`);
  if (s.jetstream) {
    const meta = !s.cluster ? "standalone" : s.metaLeader ? `meta leader ${s.metaLeader}` : "no meta leader";
    const size = s.metaClusterSize !== undefined ? `, ${s.metaClusterSize} servers` : "";
    const off = s.metaOffline.length ? `, offline: ${s.metaOffline.join(", ")}` : "";
    lines.push(`  jetstream     ${meta}${size}${off}; ${s.jetstream.streams} streams, ${s.jetstream.messages} messages`);
  }
  if (s.cluster) {
    const up = s.routes.filter((r) => r.connected && r.peer).length;
    lines.push(`  routes        ${up}/${s.expectedPeers.length} peers connected`);
    for (const r of s.routes) {
      const name = (r.peerName ?? "?").padEnd(16);
      const where = (r.peer ?? r.address).padEnd(22);
      lines.push(`    ${name} ${where} ${r.connected ? `connected${r.rtt ? `  rtt ${r.rtt}` : ""}` : "MISSING"}`);
    }
    lines.push(`  missing peers ${s.missingPeers.length ? s.missingPeers.join(", ") : "none"}`);
  }
  for (const p of s.problems) lines.push(`  problem: ${p}`);
  return lines.join("\n") + "\n";
}

/** certificateLine says whose certificate the node presents and how many days it has left. */
async function certificateLine(config: UnibusConfig): Promise<string | undefined> {
  if (!config.tls) return undefined;
  const file = config.tls.caKey ? join(natsPaths(config.node.dataDir).tlsDir, NODE_CERT_FILE) : config.tls.cert!;
  try {
    const r = describeCertificate(await readCertificateFile(file, "node certificate"));
    const warn = r.daysLeft < 30 ? " (renew soon)" : "";
    return `${r.subject}, issued by ${r.issuer}, ${r.daysLeft} days left${warn}`;
  } catch (err) {
    return `unreadable: ${(err as Error).message}`;
  }
}
