/**
 * status.ts implements `unibus status --config FILE`: ask the running node
 * over its control socket for its status (the one it keeps for systemd and
 * the admin page), or, when the socket cannot be reached (the node is down,
 * or this user may not open the data dir), ask its nats-server (monitoring
 * on loopback), the causes nats-server logged (kept by the node in
 * <data_dir>/nats-events.json) and the missing peers' route ports
 * directly, and say what is wrong. The first line is the verdict; each
 * problem names the node, the cause and the fix. Exit 0 healthy, 3 degraded,
 * 4 broken, so scripts and probes can use it directly.
 */
import { linkAge } from "../diagnosis/gateway-links.ts";
import type { FleetRow } from "../fleet/fleet-view.ts";
import type { ReplicaFact } from "../diagnosis/cluster-facts.ts";
import type { EdgeUplinkState } from "../membership/edge-agent.ts";
import { resolve } from "node:path";
import { dataDirOf, loadConfig, parseConfigText, type UnibusConfig } from "../config/load.ts";
import { readAppliedConfigText } from "../applied-config.ts";
import { gatherClusterStatus, type ClusterStatus } from "../cluster/status.ts";
import { ConfigError, ExitCode, describeError } from "../errors.ts";
import { expiresSoon } from "../pki/index.ts";
import { readNatsEvents } from "../diagnosis/nats-events.ts";
import { STATUS_EXIT, repeatText, verdictLine } from "../diagnosis/problem.ts";
import { configPath, parseCommand } from "./_flags.ts";
import { reloadCommand } from "../config/installed.ts";
import { caLines } from "../membership/rotation-view.ts";
import { dataDirLayout } from "../data-dir.ts";
import { requestStatus } from "../control/status.ts";


/** run prints the node's status and returns the verdict's exit code. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand("status", args);
  const file = configPath(values.config);
  let config: UnibusConfig;
  let invalid: ConfigError | undefined;
  try {
    config = loadConfig(file);
  } catch (err) {
    // An invalid file must not hide the running node's health: say the error first, then
    // judge the node by the config it last applied (exit 2 stays: the file is invalid).
    if (!(err instanceof ConfigError)) throw err;
    const applied = appliedConfigOf(file);
    if (!applied) throw err;
    invalid = err;
    config = applied.config;
    process.stderr.write(`error: ${describeError(err)}\n`);
    const reload = reloadCommand(file);
    if (!values.json) process.stdout.write(`the running node, judged with the config it last applied (${applied.when}); fix the file, then: ${reload}\n`);
  }
  const status = await askStatus(config);
  process.stdout.write(values.json ? JSON.stringify(invalid ? { ...status, configError: describeError(invalid) } : status, null, 2) + "\n" : formatStatus(status));
  return invalid ? ExitCode.usage : STATUS_EXIT[status.verdict];
}

/** askStatus asks the running node, else gathers the status here from what a stopped (or unreachable) node left. */
async function askStatus(config: UnibusConfig): Promise<ClusterStatus> {
  // A snapshot begun now: status right after an edit or a `kill -STOP` must show it.
  const asked = await requestStatus(config.node.dataDir, 0);
  if (asked.reached) return asked.status;
  const events = readNatsEvents(dataDirLayout(config.node.dataDir).natsEvents);
  return gatherClusterStatus(config, { events });
}

/**
 * appliedConfigOf loads the copy of the config the running node applied
 * (<data_dir>/applied-config.toml), found through the data dir the invalid
 * file still names (or its default place); relative paths resolve against the
 * file's folder, as the node resolved them. Undefined when there is none or
 * it does not load.
 */
function appliedConfigOf(path: string): { config: UnibusConfig; when: string } | undefined {
  const file = resolve(path);
  const dataDir = dataDirOf(file);
  const copy = dataDir ? readAppliedConfigText(dataDir) : undefined;
  if (!copy) return undefined;
  try {
    return { config: parseConfigText(copy.text, file), when: new Date(copy.applied.at).toISOString() };
  } catch {
    return undefined;
  }
}

/** formatStatus renders a ClusterStatus for a terminal: the verdict line first, then problems, then details. */
export function formatStatus(s: ClusterStatus, now = Date.now()): string {
  const lines = [verdictLine({ verdict: s.verdict, node: s.node, problems: s.problems, checkedAt: s.checkedAt })];
  s.problems.forEach((p, i) => {
    lines.push(`  problem ${i + 1} [${p.severity}] on ${p.node}: ${p.cause}`);
    lines.push(`    fix: ${p.fix}`);
    if (p.evidence) lines.push(`    nats-server said: ${p.evidence}${p.count ? ` (${repeatText(p, now)})` : ""}`);
  });
  lines.push(`  node          ${s.node}${s.cluster ? ` (cluster ${s.cluster})` : ""}`);
  const catching = s.health.catchingUpMs !== undefined ? `ready; JetStream catching up for ${Math.round(s.health.catchingUpMs / 1000)} s (normal after a start, a rejoin or a new stream): ${s.health.detail}` : undefined;
  lines.push(`  nats-server   ${s.reachable ? (s.health.ok ? "ready" : catching ?? `not ready: ${s.health.detail}`) : "not reachable"}`);
  if (s.jetstream) {
    const meta = !s.cluster ? "standalone" : s.metaLeader ? `meta leader ${s.metaLeader}` : "no meta leader";
    // A one-member cluster: nats-server reports the 2 servers it waits for, not what there is.
    const alone = !s.metaLeader && s.problems.some((p) => p.kind === "cluster_too_small");
    const size = alone ? ", 1 server (a leader needs a 2nd)" : s.metaClusterSize !== undefined ? `, ${s.metaClusterSize} ${s.metaClusterSize === 1 ? "server" : "servers"}` : "";
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
  if (s.site !== undefined) lines.push(`  site          ${s.site}: its own JetStream (domain ${s.site}); other sites by leaf link`);
  for (const g of s.gateways ?? []) lines.push(g.unknown ? `  gateway       ${g.remote} dials this site; no link on this node (each of its nodes lands on one member: unibus status there, or on ${g.remote}, says)` : `  gateway       ${g.remote} ${g.up ? "connected" : "DOWN"}${linkAge(g.since, now)}${g.servers.length ? ` (${g.servers.join(", ")})` : ""}${g.via === "leaf" ? (g.dials ? ", this site dials" : `, ${g.remote} dials`) : g.configured ? "" : ", learned by gossip"}`);
  for (const l of s.leafs) {
    const where = l.atHome === true ? " (its home hub node)"
      : l.atHome === false ? ` (away from its home hub node ${l.home}: moves back within about a minute once that node answers again)` : "";
    lines.push(`  leaf uplink   ${l.url} ${l.up ? `connected to hub node ${l.hub ?? "?"}${l.address ? ` at ${l.address}` : ""}${where}` : "DOWN"}`);
  }
  if (s.uplinkCheckin) lines.push(...checkinLines(s.uplinkCheckin));
  if (s.fleet) lines.push(...fleetLines(s.fleet));
  if (s.fleetStream) lines.push(`  fleet stream  UNIBUS_FLEET ${s.fleetStream.messages} messages (store and forward); backlog per edge: ${s.fleetStream.sources.map((x) => `${x.edge} ${x.lag}`).join(", ") || "no edge forwards yet"}`);
  if (s.forward) lines.push(`  store+forward ${s.forward.error ? `NOT READY: ${s.forward.error}` : `${s.forward.stream} holds ${s.forward.messages ?? "?"} messages of ${s.forward.subjects.join(", ")}; the hub's UNIBUS_FLEET sources them while the uplink is up`}`);
  const c = s.certificate;
  if (c) {
    if (c.error) lines.push(`  certificate   unreadable: ${c.error}`);
    else {
      const left = c.daysLeft! < 0 ? `EXPIRED ${-c.daysLeft!} days ago` : `${c.daysLeft} days left${expiresSoon(c.daysLeft!) ? " (renew soon)" : ""}`;
      lines.push(`  certificate   ${c.subject}, until ${c.notAfter!.slice(0, 10)}, ${left}`);
    }
    if (s.ca) lines.push(...caLines(s.ca));
    else if (c.caFingerprint) lines.push(`  CA            SHA-256 ${c.caFingerprint} (${c.caFile}); must be the same on every node`);
  }
  const ch = s.clusterHealth;
  if (ch) {
    if (ch.error && !ch.verdicts.length) lines.push(`  cluster       not asked: ${ch.error}`);
    else {
      const said = ch.verdicts.map((v) => `${v.node} ${v.verdict.toUpperCase()}`).join(", ");
      lines.push(`  cluster       ${ch.verdicts.length} of ${ch.expected} members answered${said ? `: ${said}` : ""}`);
      lines.push(`  replicas      ${ch.streams} stream${ch.streams === 1 ? "" : "s"} led; ${replicasText(ch.behind, s)}`);
      for (const st of ch.storage) lines.push(`    storage ${st.node.padEnd(16)} ${Math.floor((st.used / st.max) * 100)} % of the JetStream limit`);
    }
  }
  if (s.members?.length) {
    const active = s.members.filter((m) => !m.removed);
    lines.push(`  members       ${active.length} (${active.filter((m) => m.caHolder).length} holding the CA key)`);
    for (const m of s.members) {
      const cert = m.certDaysLeft !== undefined ? `cert ${m.certDaysLeft} d` : "cert ?";
      lines.push(`    ${m.name.padEnd(16)} ${m.route.padEnd(22)} ${(m.removed ? "REMOVED" : m.caHolder ? "ca-holder" : "member").padEnd(9)}  ${cert.padEnd(11)} joined ${m.joinedAt.slice(0, 16).replace("T", " ")}  meta ${m.meta}${m.caFingerprint ? `  ca ${m.caFingerprint.slice(0, 11)}` : ""}`);
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * replicasText says which replicas their leaders report not current. A
 * replica on a member this node has no route to is not "behind" (nats says
 * so, with 0 ops, until gossip marks the box offline): its member is out of
 * reach, said once per member however many streams it holds.
 */
function replicasText(all: readonly ReplicaFact[], s: ClusterStatus): string {
  const behind = all.filter((r) => !r.offline);
  if (!behind.length) return "every replica current";
  const unreachable = new Set([...(s.members ?? []).filter((m) => m.meta === "unreachable").map((m) => m.name), ...s.routes.filter((r) => !r.connected && r.peerName).map((r) => r.peerName!)]);
  const heard = (r: ReplicaFact) => (r.activeMs === undefined ? "not heard by its leader" : `heard ${Math.round(r.activeMs / 1000)} s ago`);
  const out: string[] = [];
  for (const name of [...new Set(behind.filter((r) => unreachable.has(r.replica)).map((r) => r.replica))]) {
    const mine = behind.filter((r) => r.replica === name);
    const latest = mine.reduce((a, r) => (r.activeMs !== undefined && (a.activeMs === undefined || r.activeMs < a.activeMs) ? r : a));
    out.push(`${name} out of reach (no route from this node; ${mine.length} replica${mine.length === 1 ? "" : "s"} not current, last ${heard(latest)})`);
  }
  for (const r of behind.filter((x) => !unreachable.has(x.replica))) out.push(`${r.replica} behind on ${r.stream || "the meta group"} (${r.lag} ops, ${heard(r)})`);
  return out.join("; ");
}

/** checkinLines says how an enrolled edge's check-ins with the hub's CA holders go (CA rotations and renewals reach it through them). */
function checkinLines(c: EdgeUplinkState): string[] {
  const last = c.lastCheckin ? `last with ${c.lastCheckin.with} at ${c.lastCheckin.at.slice(11, 19)} UTC` : "none yet";
  const lines = [`  hub check-in  ${last}${c.lastRenewal ? `; certificate renewed ${c.lastRenewal.slice(0, 10)}` : ""}`];
  if (c.removed) lines.push(`    REMOVED: the hub removed this edge (unibus edge remove); to enroll it again: unibus join ADDR --token TOKEN --edge --name NAME --replace --force`);
  if (c.caRetired) lines.push(`    the hub no longer trusts the CA of this edge's certificate (a CA rotation finished while it was away): enroll again with unibus join ADDR --token TOKEN --edge --name NAME --replace --force`);
  if (c.checkinError) lines.push(`    failing since ${c.checkinFailingSince ?? "?"}: ${c.checkinError}`);
  if (c.renewalFailing) lines.push(`    certificate renewal failing since ${c.renewalFailing.since}: ${c.renewalFailing.error}`);
  return lines;
}

/** fleetLines summarizes a hub's edges: how many of the expected are connected, on which hub node, and which are missing (--json lists every edge). */
function fleetLines(rows: FleetRow[]): string[] {
  const expected = rows.filter((r) => r.via !== "secret");
  const perHub = new Map<string, number>();
  for (const r of rows) if (r.connected && r.hub) perHub.set(r.hub, (perHub.get(r.hub) ?? 0) + 1);
  const spread = [...perHub].sort(([a], [b]) => a.localeCompare(b)).map(([h, n]) => `${h} ${n}`).join(", ");
  const others = rows.length - expected.length;
  const missing = expected.filter((r) => !r.connected).map((r) => r.name);
  return [
    `  edges         ${expected.filter((r) => r.connected).length} of ${expected.length} expected connected${others ? `, ${others} more on the shared secret` : ""}${spread ? ` (${spread})` : ""}`,
    ...(missing.length ? [`  missing edges ${missing.join(", ")}`] : []),
    ...edgeVerdictLines(rows),
  ];
}

/** edgeVerdictLines says what the connected edges report about themselves: how many are healthy, and each that is not, reports stale or never reported. */
function edgeVerdictLines(rows: FleetRow[]): string[] {
  const up = rows.filter((r) => r.connected);
  if (up.length === 0) return [];
  const healthy = up.filter((r) => r.report && !r.report.stale && r.report.verdict === "healthy");
  const notes = up.filter((r) => !healthy.includes(r)).map((r) => {
    const v = r.report;
    if (!v) return `${r.name} has not reported (an older unibus, or just connected)`;
    if (v.stale) return `${r.name} report stale (last ${v.verdict.toUpperCase()} ${v.ageS} s ago)`;
    return `${r.name} ${v.verdict.toUpperCase()}${v.problem ? `: ${v.problem.kind}: ${v.problem.cause}` : ""}${v.problems > 1 ? ` (+${v.problems - 1} more)` : ""}`;
  });
  return [`  edge verdicts ${healthy.length} of ${up.length} connected edges report healthy`, ...notes.map((n) => `    ${n}`)];
}
