/**
 * diagnose.ts turns HealthFacts into a Diagnosis: every problem the node can
 * see, each naming the node that must change, the cause in plain words (from
 * nats-server's own errors and the peers' own INFO, never a guess when those
 * say more) and the fix (which key, which file, which command). A pure
 * function of its facts, so every surface agrees and tests need no network.
 */
import { formatBytes } from "../format.ts";
import { unibusCommand } from "../config/installed.ts";
import { joinHostPort } from "../config/units.ts";
import { certificateExpiry } from "../pki/index.ts";
import type { HealthFacts } from "./facts.ts";
import { leafUplinks } from "./leaf-uplinks.ts";
import { clusterQuorum, majorityOf } from "./quorum.ts";
import type { NatsEvent, NatsEventKind } from "./nats-events.ts";
import { verdictOf, type Diagnosis, type Problem, type Severity } from "./problem.ts";

/** EVENT_FRESH_MS: a nats error older than this no longer describes the present. */
export const EVENT_FRESH_MS = 30_000;
/** STREAM_CATCHUP_GRACE_MS: streams may lag this long (a new stream, a rejoin) before it counts as a problem. */
export const STREAM_CATCHUP_GRACE_MS = 20_000;

/** diagnose computes the verdict and the problems behind it. */
export function diagnose(f: HealthFacts): Diagnosis {
  const problems: Problem[] = [];
  const events = f.events.filter((e) => f.now - e.lastSeen <= EVENT_FRESH_MS);
  if (!f.reachable) {
    problems.push(notAnswering(f));
  } else {
    routeProblems(f, events, problems);
    jetstreamProblems(f, problems);
  }
  // nats-server says some leaf causes once, then only "connection closed": while an uplink
  // is down, its cause stays known for as long as this node runs.
  leafProblems(f, f.events, problems);
  certificateProblems(f, problems);
  diskProblems(f, problems);
  // Found in cause-before-consequence order (routes, then JetStream): the first is the headline.
  return { verdict: verdictOf(problems), node: f.node, problems, checkedAt: new Date(f.now).toISOString() };
}

function fileOf(f: HealthFacts): string {
  return f.config.file;
}

/** withEvidence copies nats-server's words and repeat count onto a problem. */
function withEvidence(p: Problem, evs: NatsEvent[]): Problem {
  if (!evs.length) return p;
  // The line that names the cause (with its facts) speaks better than "connection closed".
  const telling = evs.filter((e) => Object.keys(e.detail).length);
  const latest = (telling.length ? telling : evs).reduce((a, b) => (b.lastSeen > a.lastSeen ? b : a));
  return { ...p, evidence: latest.text, count: evs.reduce((n, e) => n + e.count, 0), lastSeen: new Date(latest.lastSeen).toISOString() };
}

function eventsOf(events: NatsEvent[], ...kinds: NatsEventKind[]): NatsEvent[] {
  return events.filter((e) => kinds.includes(e.kind));
}

/** peersNamedBy lists the configured missing peers a set of events was seen with (solicited routes carry the peer's address). */
function peersNamedBy(f: HealthFacts, evs: NatsEvent[]): string[] {
  const addrs = new Set(evs.flatMap((e) => e.addresses));
  return f.missingPeers.filter((p) => addrs.has(p));
}

/** routeSeverity: a route problem is degraded while this node still reaches a majority (quorum.ts), broken once it does not. */
function routeSeverity(f: HealthFacts): Severity {
  return clusterQuorum(f).majority ? "degraded" : "broken";
}

function routeProblems(f: HealthFacts, events: NatsEvent[], out: Problem[]): void {
  const cluster = f.config.cluster;
  if (!cluster) return;
  const severity = routeSeverity(f);
  const explained = new Set<string>();
  const file = fileOf(f);
  const probeOf = (peer: string) => f.probes.find((p) => p.address === peer);

  // Cluster name: the peer's own INFO says its name; nats's rejections say the same.
  const nameEvents = eventsOf(events, "cluster_name_mismatch");
  const otherName = f.missingPeers.filter((p) => probeOf(p)?.cluster !== undefined && probeOf(p)!.cluster !== cluster.name);
  if (nameEvents.length || otherName.length) {
    const remoteNames = new Set([...nameEvents.map((e) => e.detail.remote).filter((n): n is string => Boolean(n) && n !== cluster.name), ...otherName.map((p) => probeOf(p)!.cluster!)]);
    const peers = [...new Set([...otherName, ...peersNamedBy(f, nameEvents)])];
    const thisNodeAlone = f.routes.length === 0 && f.missingPeers.length === (cluster.routes.length) && cluster.routes.length > 1;
    if (thisNodeAlone && remoteNames.size === 1) {
      const theirs = [...remoteNames][0]!;
      out.push(withEvidence({
        kind: "cluster_name_mismatch", severity: "broken", node: f.node,
        cause: `cluster name mismatch: this node's cluster is "${cluster.name}" but its peers' is "${theirs}", so every peer refuses its routes`,
        fix: `set cluster.name = "${theirs}" in the [cluster] table of ${file} (the same name on every node), then restart unibus on this node`,
      }, nameEvents));
    } else {
      const who = peers.length ? peers.map((p) => describePeer(f, p)).join(", ") : f.missingPeers.length ? f.missingPeers.join(", ") : "a peer";
      const theirs = remoteNames.size ? [...remoteNames].map((n) => `"${n}"`).join(" or ") : "another name";
      out.push(withEvidence({
        kind: "cluster_name_mismatch", severity, node: who,
        cause: `cluster name mismatch: ${who} calls its cluster ${theirs}, this node calls it "${cluster.name}", so nats-server refuses the route`,
        fix: `on ${who}, set cluster.name = "${cluster.name}" in the [cluster] table of its node.toml (the same name on every node), then restart unibus there`,
      }, nameEvents));
      for (const p of peers.length ? peers : f.missingPeers.length === 1 ? f.missingPeers : []) explained.add(p);
    }
    if (thisNodeAlone) for (const p of f.missingPeers) explained.add(p);
  }

  // Duplicate names: the route handshake refuses a second server with the same name.
  const dupEvents = eventsOf(events, "duplicate_node_name");
  const sameNameRoutes = f.routes.filter((r) => r.name === f.node);
  const sameNameProbes = f.missingPeers.filter((p) => probeOf(p)?.serverName === f.node);
  if (dupEvents.length || sameNameRoutes.length || sameNameProbes.length) {
    const name = dupEvents.find((e) => e.detail.name)?.detail.name ?? f.node;
    const hostHint = f.nameFromHost
      ? ` (${file} has no [node] name, so the node takes the host name "${f.node}", and the hosts share it: a Raspberry Pi is "raspberrypi" unless renamed)`
      : "";
    out.push(withEvidence({
      kind: "duplicate_node_name", severity: "broken", node: f.node,
      cause: `duplicate node name: this node and ${others(sameNameProbes, sameNameRoutes)} are all named "${name}"${hostHint}; nats-server refuses the second route and JetStream cannot count them`,
      // A member that joined has its name in its certificate: a new name means a new join, not an edit.
      fix: f.config.tls && !f.config.tls.caKey && !f.nameFromHost
        ? `the box that should not be "${name}" (a copy of this one's disk, or one given its name) must join anew under its own name: there, sudo systemctl disable --now unibus; sudo ./install.sh --uninstall --purge; then sudo ./install.sh --join ADDR --token T --name NEW-NAME (a token from sudo unibus token create on a CA holder)`
        : `give every node its own name: set [node] name = "…" (e.g. "pi-1", "pi-2", "pi-3") in each node's node.toml (this one: ${file}), then restart unibus on each`,
    }, dupEvents));
    for (const p of sameNameProbes) explained.add(p);
    if (!sameNameProbes.length && dupEvents.length) for (const p of peersNamedBy(f, dupEvents)) explained.add(p);
    // A peer whose route port answers without saying its name is most likely the duplicate too; one that does not answer is down.
    if (dupEvents.length) for (const p of f.missingPeers) if (probeOf(p)?.reachable && !probeOf(p)?.serverName) explained.add(p);
  }

  // Two servers under one peer name: a copied disk, or a box given a member's name.
  for (const t of f.twins ?? []) {
    out.push({
      kind: "duplicate_node_name", severity: "degraded", node: t.name,
      cause: `two servers both call themselves "${t.name}" (routes from ${t.addresses.join(" and ")}): one is a copy (a cloned SD card or copied /var/lib/unibus) or a box given that name; JetStream counts them as one server, and the other nodes refuse one of them`,
      fix: f.config.tls?.caKey
        ? `stop unibus on the copy (sudo systemctl disable --now unibus there), then give it its own name: sudo ./install.sh --uninstall --purge, and join it anew: sudo ./install.sh --join ADDR --token T --name NEW-NAME (a token from ${unibusCommand(f.config.file, "token create")})`
        : `stop unibus on the copy (sudo systemctl disable --now unibus there), then give it its own name: sudo ./install.sh --uninstall --purge, and join it anew: sudo ./install.sh --join ADDR --token T --name NEW-NAME (a token from sudo unibus token create on a CA holder)`,
    });
  }

  // Certificates from another CA: this node distrusts the peer's, or the peer distrusts this node's.
  const untrusted = eventsOf(events, "route_tls_untrusted");
  const rejected = eventsOf(events, "route_tls_rejected");
  const otherCa = f.missingPeers.filter((p) => probeOf(p)?.trusted === false);
  if (untrusted.length || rejected.length || otherCa.length) {
    const subjects = [...new Set(untrusted.map((e) => /\((CN=[^ ;,)]+)/.exec(e.text)?.[1]).filter(Boolean))];
    const peers = [...new Set([...otherCa, ...peersNamedBy(f, [...untrusted, ...rejected])])];
    const who = peers.length ? peers.map((p) => describePeer(f, p)).join(", ") : subjects.length ? subjects.join(", ") : f.missingPeers.join(", ") || "a peer";
    const fp = f.certificate?.caFingerprint ? ` (this node's CA: SHA-256 ${f.certificate.caFingerprint})` : "";
    const alone = f.routes.length === 0 && cluster.routes.length > 1;
    out.push(withEvidence({
      kind: "ca_mismatch", severity: alone ? "broken" : severity, node: alone ? f.node : who,
      cause: alone
        ? `certificate authority mismatch: this node's CA differs from its peers'${fp}; every route fails TLS (x509: certificate signed by unknown authority)`
        : `certificate authority mismatch: ${who} presents a certificate from a different CA than this node's${fp}; the route fails TLS (unknown authority)`,
      fix: alone
        ? `give this node the cluster's CA: copy ca.pem (and ca-key.pem) from a working node to the files named by tls.ca_cert / tls.ca_key in ${file}, delete ${f.config.node.dataDir}/tls/node.pem and node-key.pem, restart unibus; 'unibus status' shows each node's CA fingerprint, which must match`
        : `on ${who}, set tls.ca_cert (and tls.ca_key) to the cluster's CA, delete its <data_dir>/tls/node.pem and node-key.pem so a certificate is issued from the right CA, and restart unibus there; 'unibus status' on each node shows the CA fingerprint, which must match${fp ? ` ${f.certificate!.caFingerprint!.slice(0, 23)}…` : ""}`,
    }, [...untrusted, ...rejected]));
    for (const p of peers.length ? peers : alone ? f.missingPeers : f.missingPeers.length === 1 ? f.missingPeers : []) explained.add(p);
  }

  // Route secret refused.
  const auth = eventsOf(events, "route_auth_failed");
  if (auth.length) {
    const peers = peersNamedBy(f, auth);
    const who = peers.length ? peers.map((p) => describePeer(f, p)).join(", ") : f.missingPeers.join(", ") || `a node at ${auth[0]!.addresses.at(-1) ?? "?"}`;
    out.push(withEvidence({
      kind: "route_auth_failed", severity, node: who,
      cause: `route secret mismatch: ${who} and this node do not share the route secret, so nats-server refuses the route (authentication error)`,
      fix: `put the same secret on every node: copy the file named by cluster.secret_file in ${file} to ${who} (or set $UNIBUS_CLUSTER_SECRET the same everywhere), then restart unibus there`,
    }, auth));
    for (const p of peers.length ? peers : f.missingPeers.length === 1 ? f.missingPeers : []) explained.add(p);
  }

  // What is left: peers nothing answers for.
  const connectErrors = eventsOf(events, "route_connect_failed");
  for (const peer of f.missingPeers.filter((p) => !explained.has(p))) {
    const probe = probeOf(peer);
    const evs = connectErrors.filter((e) => e.addresses.includes(peer));
    const why = probe && !probe.reachable ? `: ${probe.error}` : probe?.reachable ? " (its route port answers, but no route formed yet)" : evs[0]?.detail.error ? `: ${evs[0].detail.error}` : "";
    out.push(withEvidence({
      kind: "peer_unreachable", severity, node: describePeer(f, peer),
      cause: `no route to peer ${describePeer(f, peer)}${why}`,
      fix: `make sure unibus runs there (systemctl status unibus), that its route port ${peer.replace(/^.*:/, "")} is reachable from this node, and that cluster.peers in ${file} lists its right address`,
    }, evs));
  }
  for (const r of f.strangers) {
    out.push({
      kind: "stranger_route", severity: "degraded", node: r.name ?? r.address,
      cause: `a route to ${r.name ?? "?"} at ${r.address} is up, but that address is not in cluster.peers`,
      fix: `add its address to cluster.peers in ${file} (every node lists every node), or remove that node if it should not be here`,
    });
  }
}


/**
 * notAnswering says why the monitoring port is silent: a stopped nats-server
 * (SIGSTOP, a debugger) and a hung one need a restart, not a start.
 */
function notAnswering(f: HealthFacts): Problem {
  const at = f.config.monitor.listen.text;
  const nats = f.processes?.nats;
  const base = { kind: "nats_not_running" as const, severity: "broken" as const, node: f.node };
  if (nats?.state === "stopped") {
    return {
      ...base,
      cause: `nats-server (pid ${nats.pid}) is stopped (SIGSTOP or a debugger): it holds its ports and answers nothing at ${at}, so clients and the other nodes wait on it`,
      fix: `let it run on with kill -CONT ${nats.pid}, or restart the node: systemctl restart unibus`,
    };
  }
  if (nats?.state === "running" && /did not answer/.test(f.monitorError ?? "")) {
    return {
      ...base,
      cause: `nats-server (pid ${nats.pid}) is running but does not answer at ${at} (${f.monitorError}): it is hung or the machine is overloaded`,
      fix: "look at the machine's load (uptime, top); if it does not pass, restart the node: systemctl restart unibus, and read the log: journalctl -u unibus",
    };
  }
  return {
    ...base,
    cause: `nats-server on this node does not answer at ${at} (${f.monitorError ?? "no answer"}): unibus is not running or is still starting`,
    fix: `start it (systemctl start unibus, or unibus --config ${f.config.file}); if it does not stay up: journalctl -u unibus`,
  };
}

function others(probed: string[], routes: { peer?: string; address: string }[]): string {
  const all = [...new Set([...probed, ...routes.map((r) => r.peer ?? r.address)])];
  return all.length ? `the peer${all.length === 1 ? "" : "s"} at ${all.join(", ")}` : "another node";
}

function describePeer(f: HealthFacts, peer: string): string {
  const probe = f.probes.find((p) => p.address === peer);
  // A peer that refuses this node's certificate never sends its INFO; its own certificate still names it.
  const name = probe?.serverName ?? /CN=([^,\s]+)/.exec(probe?.certSubject ?? "")?.[1];
  return name && name !== f.node ? `${name} (${peer})` : peer;
}

function jetstreamProblems(f: HealthFacts, out: Problem[]): void {
  if (!f.jetstreamEnabled) {
    if (!f.health.ok) out.push({ kind: "nats_not_running", severity: "broken", node: f.node, cause: `nats-server is not ready: ${f.health.detail}`, fix: "see the log: journalctl -u unibus" });
    return;
  }
  const cluster = f.config.cluster;
  const file = fileOf(f);
  if (cluster) {
    const servers = clusterQuorum(f).size;
    if (!f.meta?.leader && servers === 1) {
      // nats-server bootstraps its meta group expecting at least 2 servers: a one-member cluster never elects a leader.
      out.push({
        kind: "cluster_too_small", severity: "broken", node: f.node,
        cause: "this cluster has one member, and clustered JetStream elects its meta leader only with 2 or more servers: no stream can be created or written until a second box joins (core NATS publish and subscribe work)",
        fix: `join a second box: on this node run ${unibusCommand(f.config.file, "token create")} and run the line it prints on the new box; with 3 members streams stay writable while one box is down`,
      });
      return;
    }
    if (!f.meta?.leader) {
      out.push({
        kind: "meta_no_leader", severity: "broken", node: f.node,
        cause: `JetStream has no meta leader: fewer than a majority (${majorityOf(servers)} of ${servers}) of the nodes can reach each other, so no stream can be written or changed`,
        fix: out.length ? "fix the problems above; the meta group elects a leader as soon as a majority of nodes are connected" : "start the missing nodes or reconnect them (unibus status on each node says why it is missing)",
      });
      return;
    }
    if (f.metaHealth && !f.metaHealth.ok) {
      out.push({
        kind: "jetstream_not_current", severity: "broken", node: f.node,
        cause: `JetStream on this node is not current with the meta leader ${f.meta.leader} (${f.metaHealth.detail}): writes through this node wait until it catches up`,
        fix: "usually it catches up within seconds after a partition heals; if it stays, check the routes to the meta leader and the log (journalctl -u unibus)",
      });
      return;
    }
    const known = f.meta.clusterSize;
    if (known !== undefined && known < servers && !f.missingPeers.length && !out.length) {
      out.push({
        kind: "meta_incomplete", severity: "degraded", node: f.node,
        cause: `the JetStream meta group knows ${known} of the ${servers} servers in cluster.peers`,
        fix: "start the missing nodes; if one will never return, take it out of the cluster from any member: sudo unibus remove NAME",
      });
    }
  }
  if (!f.health.ok && (f.streamsBehindMs === undefined || f.streamsBehindMs >= STREAM_CATCHUP_GRACE_MS)) {
    out.push({
      kind: "jetstream_not_current", severity: "degraded", node: f.node,
      cause: `JetStream on this node is catching up: ${f.health.detail}${f.streamsBehindMs ? ` (for ${Math.round(f.streamsBehindMs / 1000)} s)` : ""}`,
      fix: `wait for the replicas to catch up; if it lasts, check the routes and disk of this node and the log (journalctl -u unibus); ${file}`,
    });
  }
}

function leafProblems(f: HealthFacts, events: NatsEvent[], out: Problem[]): void {
  const leaf = f.config.leafnodes;
  if (!leaf) return;
  const file = fileOf(f);
  const solicited = f.leafs.filter((l) => l.solicited);
  const down = leafUplinks(f).filter((u) => !u.up).length;
  if (f.reachable && down > 0) {
    const tlsEvs = eventsOf(events, "leaf_tls_untrusted");
    // The freshest cause wins: an uplink that failed one way and now fails another says the latter.
    const newest = (evs: NatsEvent[]) => Math.max(0, ...evs.map((e) => e.lastSeen));
    const authEvs = eventsOf(events, "leaf_auth_failed").filter((e) => e.detail.side !== "accepting");
    const connEvs = eventsOf(events, "leaf_connect_failed");
    const up = new Set(solicited.map((l) => l.address));
    const candidates = leaf.remotes.filter((r) => ![...up].some((a) => a === joinHostPort(r.url.host, r.url.port)));
    for (const r of (candidates.length ? candidates : leaf.remotes).slice(0, down)) {
      const mine = (evs: NatsEvent[]) => evs.filter((e) => !e.detail.url || e.detail.url.includes(r.url.host));
      const tls = mine(tlsEvs);
      const auth = mine(authEvs);
      const conn = mine(connEvs);
      const newestTls = newest(tls), newestAuth = newest(auth), newestConn = newest(conn);
      if (tls.length && newestTls >= newestAuth && newestTls >= newestConn) {
        out.push(withEvidence({
          kind: "leaf_tls_untrusted", severity: "degraded", node: f.node,
          cause: `the leaf uplink to ${r.url.text} is down: this node does not trust the hub's certificate (x509: certificate signed by unknown authority)${r.caFile ? `; ${r.caFile} is not the CA that issued it` : "; this remote has no ca_file"}`,
          fix: `copy the hub cluster's CA certificate (its ca.pem) to this node and set ca_file = "/path/to/hub-ca.pem" in the [[leafnodes.remotes]] entry for ${r.url.text} in ${file}, then reload: systemctl reload unibus`,
        }, tls));
      } else if (auth.length && newestAuth >= newestConn) {
        out.push(withEvidence({
          kind: "leaf_auth_failed", severity: "degraded", node: f.node,
          cause: `the leaf uplink to ${r.url.text} is down: the hub refuses this node's user "${r.user}" or secret`,
          fix: `use the hub's leaf secret: set secret_file (or secret_env) in the [[leafnodes.remotes]] entry for ${r.url.text} in ${file} to the hub's [leafnodes] secret, then reload: systemctl reload unibus`,
        }, auth));
      } else {
        const why = conn.at(-1)?.detail.error;
        out.push(withEvidence({
          kind: "leaf_down", severity: "degraded", node: f.node,
          cause: `the leaf uplink to ${r.url.text} is down${why ? `: ${why}` : ""}; local clients still work, messages to and from the hub wait`,
          fix: `check that the hub runs and that ${r.url.host}:${r.url.port} is reachable from this node (url in the [[leafnodes.remotes]] entry of ${file})`,
        }, conn));
      }
    }
  }
  if (leaf.listen) {
    const refused = eventsOf(events, "leaf_auth_failed").filter((e) => e.detail.side === "accepting" && f.now - e.lastSeen <= EVENT_FRESH_MS);
    if (refused.length) {
      const who = [...new Set(refused.flatMap((e) => e.addresses.map((a) => a.replace(/:\d+$/, ""))))].join(", ");
      out.push(withEvidence({
        kind: "leaf_auth_failed", severity: "degraded", node: who,
        cause: `an edge at ${who} tries to connect as a leaf node with a secret or user this hub does not accept`,
        fix: `on that edge, set the [[leafnodes.remotes]] secret to this hub's [leafnodes] secret (from ${file}) and reload it`,
      }, refused));
    }
  }
}

function certificateProblems(f: HealthFacts, out: Problem[]): void {
  const c = f.certificate;
  if (!c) return;
  const file = fileOf(f);
  if (c.error) {
    out.push({ kind: "certificate_unreadable", severity: "broken", node: f.node, cause: c.error, fix: `check [tls] in ${file}; with ca_key, restarting unibus issues a new node certificate` });
    return;
  }
  if (c.daysLeft === undefined) return;
  const renew = c.selfRenewing && !f.config.tls?.caKey
    ? "this member renews it through a CA holder by itself (a third of its lifetime before expiry); if it does not, make a CA holder reachable on its join port (route port + 1)"
    : c.selfRenewing
    ? `restart unibus on this node: it issues a new certificate from the CA in ${c.caFile} (the CA key is configured)`
    : `issue a new one where the CA key is (unibus cert issue --ca DIR --name ${f.node} --out DIR), copy it here and point tls.cert / tls.key in ${file} at it, then restart unibus`;
  const expiry = certificateExpiry(Date.parse(c.notAfter!), f.now);
  if (expiry.expired) {
    out.push({
      kind: "certificate_expired", severity: "broken", node: f.node,
      cause: `the node certificate ${c.file} EXPIRED on ${c.notAfter!.slice(0, 10)} (${-c.daysLeft} days ago): peers and TLS clients refuse it`,
      fix: renew,
    });
  } else if (expiry.expiresSoon) {
    out.push({
      kind: "certificate_expiring", severity: "degraded", node: f.node,
      cause: `the node certificate ${c.file} expires on ${c.notAfter!.slice(0, 10)} (${c.daysLeft} days left)${c.selfRenewing ? " and has not been renewed" : " and this node cannot renew it (no ca_key)"}`,
      fix: renew,
    });
  }
}

function diskProblems(f: HealthFacts, out: Problem[]): void {
  const d = f.disk;
  if (!d || !f.jetstreamEnabled) return;
  const max = f.config.jetstream.maxFile;
  const room = d.freeBytes + d.storeBytes;
  if (max > room) {
    const suggested = Math.max(1024 * 1024, Math.floor((room * 0.75) / (1024 * 1024)) * 1024 * 1024);
    out.push({
      kind: "disk_too_small", severity: "degraded", node: f.node,
      cause: `jetstream.max_file is ${formatBytes(max)} but the disk of ${d.dir} has only ${formatBytes(d.freeBytes)} free${d.storeBytes ? ` (plus ${formatBytes(d.storeBytes)} JetStream already stores)` : ""}: streams can fill the disk to 100 % before JetStream's limit stops them`,
      fix: `set jetstream.max_file = "${Math.floor(suggested / (1024 * 1024))}MiB" (or less) in ${fileOf(f)}, or leave max_file out (unibus then takes 75 % of what the disk can hold), or move node.data_dir to a bigger disk, then restart unibus`,
    });
  }
}
