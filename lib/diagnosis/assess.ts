/**
 * assess.ts is the one path from a nats monitoring snapshot to a Diagnosis,
 * shared by `unibus status` and the admin page: pair routes with configured
 * peers, read the JetStream meta group the way a follower must (see
 * meta-view.ts), probe the peers that are missing, and add the certificate
 * and disk facts.
 */
import type { RouteInfo } from "../natsd/monitoring-types.ts";
import { nodeProcesses } from "./process-state.ts";
import { configDriftProblem } from "./config-drift.ts";
import { readFileSync } from "node:fs";
import type { UnibusConfig } from "../config/load.ts";
import type { Snapshot } from "../natsd/snapshot.ts";
import { pairRoutes } from "./route-pairing.ts";
import { certFacts, diskFacts, nameFromHost, type HealthFacts, type LeafFact, type RouteFact, type TwinFact } from "./facts.ts";
import { diagnose } from "./diagnose.ts";
import { metaPeers } from "./meta-view.ts";
import type { NatsEvent } from "./nats-events.ts";
import { probePeer, type PeerProbe, type ProbeCredentials } from "./peer-probe.ts";
import { verdictOf, type Diagnosis } from "./problem.ts";
import { membershipProblems, metaAbsentMembers, withMembers } from "../membership/status-view.ts";
import { presentedCertificate, trustFile } from "../membership/cert-files.ts";
import { joinHostPort } from "../config/units.ts";

/** AssessOptions are the facts beyond the snapshot. */
export interface AssessOptions {
  events: NatsEvent[];
  /** Probe missing peers' route ports (status does; the page uses a cache). */
  probe?: (config: UnibusConfig, missing: string[]) => Promise<PeerProbe[]>;
  streamsBehindMs?: number;
  now?: number;
}

/** Assessment is a diagnosis with the facts it came from (status prints both). */
export interface Assessment { diagnosis: Diagnosis; facts: HealthFacts }

/** probeCredentials reads the CA and node certificate the probe presents; undefined without [tls]. */
export function probeCredentials(config: UnibusConfig): ProbeCredentials | undefined {
  if (!config.tls) return undefined;
  try {
    const caPem = readFileSync(trustFile(config) ?? config.tls.caCert, "utf8");
    const { certFile, keyFile } = presentedCertificate(config) ?? {};
    try {
      return { caPem, certPem: readFileSync(certFile!, "utf8"), keyPem: readFileSync(keyFile!, "utf8") };
    } catch {
      return { caPem };
    }
  } catch {
    return undefined;
  }
}

/** probeMissing asks each missing peer's route port who it is. */
export async function probeMissing(config: UnibusConfig, missing: string[]): Promise<PeerProbe[]> {
  const creds = probeCredentials(config);
  const peers = (config.cluster?.routes ?? []).filter((p) => missing.includes(p.text));
  return Promise.all(peers.map(async (p) => ({ ...(await probePeer(p.host, p.port, creds)), address: p.text })));
}

/** assess computes the node's diagnosis from one snapshot and the extra facts. */
export async function assess(given: UnibusConfig, s: Snapshot, o: AssessOptions): Promise<Assessment> {
  // Members that joined after the config was written are peers too; removed ones are not.
  const config = withMembers(given);
  const now = o.now ?? Date.now();
  const reachable = s.varz.ok || s.routez.ok;
  const node = s.varz.ok ? s.varz.data.server_name : config.node.name;
  const routes = s.routez.ok ? (s.routez.data.routes ?? []) : [];
  const paired = await pairRoutes(routes, config.cluster?.routes ?? []);
  const routeFacts: RouteFact[] = paired.routes.map((r) => ({ ...(r.peerName ? { name: r.peerName } : {}), address: r.address, solicited: Boolean(r.solicited), ...(r.peer ? { peer: r.peer } : {}) }));
  const strangers = routeFacts.filter((_, i) => !paired.routes[i]!.peer);
  const twins = sameNameServers(node, routes);
  const missingPeers = reachable ? paired.missing : (config.cluster?.routes ?? []).map((p) => p.text);
  const jsz = s.jsz.ok && !s.jsz.data.disabled ? s.jsz.data : undefined;
  const leafs: LeafFact[] = s.leafz.ok ? (s.leafz.data.leafs ?? []).map((l) => ({ ...(l.name ? { name: l.name } : {}), address: joinHostPort(l.ip, l.port), solicited: Boolean(l.is_spoke), ...(l.account ? { account: l.account } : {}), ...(l.rtt ? { rtt: l.rtt } : {}) })) : [];
  const probes = reachable && missingPeers.length && o.probe ? await o.probe(config, missingPeers) : [];
  const facts: HealthFacts = {
    config,
    node,
    now,
    reachable,
    ...(!reachable ? { monitorError: s.varz.ok ? "" : s.varz.error, processes: nodeProcesses(config.node.dataDir) } : {}),
    health: s.healthz,
    ...(config.cluster ? { metaHealth: s.metaHealthz } : {}),
    ...(o.streamsBehindMs !== undefined ? { streamsBehindMs: o.streamsBehindMs } : {}),
    routes: routeFacts,
    missingPeers,
    strangers,
    ...(twins.length ? { twins } : {}),
    ...(jsz ? { meta: { ...(jsz.meta_cluster?.leader ? { leader: jsz.meta_cluster.leader } : {}), ...(jsz.meta_cluster?.cluster_size !== undefined ? { clusterSize: jsz.meta_cluster.cluster_size } : {}), peers: metaPeers(node, jsz.meta_cluster) } } : {}),
    jsz: s.jsz.ok ? { ok: true, disabled: Boolean(s.jsz.data.disabled) } : { ok: false, error: s.jsz.error },
    jetstreamEnabled: config.jetstream.enabled,
    leafs,
    events: o.events,
    probes,
    nameFromHost: nameFromHost(config),
  };
  const cert = certFacts(config, now);
  if (cert) facts.certificate = cert;
  const disk = diskFacts(config, jsz?.storage ?? 0);
  if (disk) facts.disk = disk;
  const diagnosis = diagnose(facts);
  const drift = configDriftProblem(config, node);
  const membership = [...membershipProblems(config, node, jsz?.meta_cluster), ...(drift ? [drift] : [])];
  const incomplete = diagnosis.problems.find((p) => p.kind === "meta_incomplete");
  const absent = incomplete ? metaAbsentMembers(config, jsz?.meta_cluster) : [];
  if (incomplete && absent.length) {
    // Every route is up (else another problem would say so): these run, but JetStream has not taken them in.
    incomplete.node = absent.join(", ");
    incomplete.cause += `; it lacks ${absent.join(", ")}, which run${absent.length === 1 ? "s" : ""} and route${absent.length === 1 ? "s" : ""} to this node`;
    incomplete.fix = `nats-server keeps a name that was removed (unibus remove / leave) out of the meta group for 5 minutes after the removal, then takes it in by itself; if ${absent.join(", ")} ${absent.length === 1 ? "stays" : "stay"} out longer, restart unibus on ${absent.length === 1 ? "it" : "them"} (systemctl restart unibus)`;
  }
  if (membership.some((p) => p.kind === "member_removed")) {
    // A node that left is stopped on purpose: "start it" would be the wrong advice.
    diagnosis.problems = diagnosis.problems.filter((p) => p.kind !== "nats_not_running");
  }
  if (membership.length) {
    // Broken first, as the verdict line names the first problem.
    diagnosis.problems = [...diagnosis.problems, ...membership].sort((a, b) => Number(b.severity === "broken") - Number(a.severity === "broken"));
    diagnosis.verdict = verdictOf(diagnosis.problems);
  }
  return { diagnosis, facts };
}

/**
 * sameNameServers finds peer names that two different servers (two server
 * ids) hold at once: a copied disk (a cloned SD card) or a box given a
 * member's name. nats refuses the second route on most nodes; a node that
 * took both shows them side by side in /routez.
 */
function sameNameServers(self: string, routes: readonly Pick<RouteInfo, "remote_name" | "remote_id" | "ip" | "port">[]): TwinFact[] {
  const byName = new Map<string, Map<string, string>>();
  for (const r of routes) {
    if (!r.remote_name || r.remote_name === self) continue;
    const ids = byName.get(r.remote_name) ?? new Map<string, string>();
    ids.set(r.remote_id, joinHostPort(r.ip, r.port));
    byName.set(r.remote_name, ids);
  }
  return [...byName].filter(([, ids]) => ids.size > 1).map(([name, ids]) => ({ name, addresses: [...ids.values()].sort() }));
}
