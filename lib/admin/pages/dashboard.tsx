/**
 * dashboard.tsx is the one page a home-lab user opens: is the bus healthy,
 * and if not, why. Each panel renders its own error state (nats-server not
 * reachable, no JetStream...) instead of failing the page.
 */
import type { LogLine } from "../log-ring.ts";
import type { Overview, StreamRow } from "../model.ts";
import type { ConnectionRow } from "../connections-view.ts";
import { logEntries } from "../log-view.ts";
import { repeatText } from "../../diagnosis/problem.ts";
import { formatBytes, formatCount, formatSeconds } from "../format.ts";
import { ClusterSvg } from "./cluster-svg.tsx";
import { Layout } from "./layout.tsx";
import { RateChart } from "./rate-chart.tsx";

function ErrorLine({ text }: { text?: string }) {
  return text ? <p class="error" role="alert">{text}</p> : null;
}

function Row({ k, children }: { k: string; children?: unknown }) {
  return <tr><th>{k}</th><td>{children as string}</td></tr>;
}

/** HealthPanel is the verdict and every problem, at the top, in the words `unibus status` uses. */
function HealthPanel({ o }: { o: Overview }) {
  const h = o.health;
  const now = Date.parse(o.generatedAt);
  return (
    <section id="health" class={`wide verdict-${h.verdict}`} data-verdict={h.verdict}>
      <h2 id="verdict" class={h.verdict === "healthy" ? "ok" : h.verdict === "degraded" ? "warn" : "bad"}>
        {h.verdict === "healthy" ? "Healthy" : h.verdict === "degraded" ? "Degraded" : "Broken"}: {h.problems.length ? `${h.problems.length} problem${h.problems.length === 1 ? "" : "s"}` : "no problems"}
      </h2>
      {h.problems.length ? (
        <ol id="problems">
          {h.problems.map((p) => (
            <li class={`problem ${p.severity === "broken" ? "bad" : "warn"}`} data-kind={p.kind} data-severity={p.severity}>
              <strong>[{p.severity}] on {p.node}:</strong> <span class="cause">{p.cause}</span>
              <div class="fix"><strong>Fix:</strong> {p.fix}</div>
              {p.evidence ? <div class="evidence muted">nats-server said: <code>{p.evidence}</code>{p.count ? ` (${repeatText(p, now)})` : ""}</div> : null}
            </li>
          ))}
        </ol>
      ) : null}
    </section>
  );
}

function NodePanel({ o }: { o: Overview }) {
  const n = o.node;
  const d = n.disk;
  return (
    <section id="node">
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
    </section>
  );
}

function ClusterPanel({ o }: { o: Overview }) {
  const c = o.cluster;
  return (
    <section id="cluster">
      <h2>Cluster{c.name ? ` ${c.name}` : ""}</h2>
      <ErrorLine text={c.error} />
      {o.leafs.length ? (
        <table id="leafs">
          <thead><tr><th>leaf uplink</th><th>state</th><th class="num">RTT</th></tr></thead>
          <tbody>{o.leafs.map((l) => <tr data-leaf={l.url} data-state={l.up ? "up" : "down"}><td>{l.url}</td><td class={l.up ? "ok" : "bad"}>{l.up ? "up" : "DOWN"}</td><td class="num">{l.rtt ?? "–"}</td></tr>)}</tbody>
        </table>
      ) : null}
      {c.clustered ? <p>{c.routesUp} of {c.expectedSize - 1} peers reachable{c.metaLeader ? ` · JetStream meta leader ${c.metaLeader}` : ""}</p> : <p class="muted">Single node: no [cluster] configured.</p>}
      <ClusterSvg view={c} />
      {c.routes.length ? (
        <table>
          <thead><tr><th>route</th><th>state</th><th class="num">RTT</th></tr></thead>
          <tbody>
            {c.routes.map((r) => (
              <tr data-route={`${r.from}-${r.to}`}><td>{r.from} – {r.to}</td><td class={r.up ? "ok" : "bad"}>{r.up ? "up" : "down"}</td><td class="num">{r.observed ? (r.rtt ?? "–") : <span class="muted">not measured here</span>}</td></tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function RatesPanel({ o }: { o: Overview }) {
  const r = o.rates;
  return (
    <section id="rates">
      <h2>Message rates</h2>
      <ErrorLine text={r.error ? `sampling /varz failed: ${r.error}` : undefined} />
      <RateChart title="msgs/s" points={r.points} in={(p) => p.inMsgs} out={(p) => p.outMsgs} format={(v) => formatCount(v)} />
      <RateChart title="bytes/s" points={r.points} in={(p) => p.inBytes} out={(p) => p.outBytes} format={(v) => `${formatBytes(v)}`} />
      <p class="muted">A sample every {r.intervalMs / 1000} s.</p>
    </section>
  );
}

const KIND_CLASS = { NATS: "kind-nats", MQTT: "kind-mqtt", WebSocket: "kind-ws", leaf: "kind-leaf" } as const;

function ConnectionCells({ x }: { x: ConnectionRow }) {
  return (
    <>
      <td><span class={`kind ${KIND_CLASS[x.kind]}`}>{x.kind}</span></td>
      <td class="name">{x.name ? <strong>{x.name}</strong> : <span class="muted">unnamed #{x.cid}</span>}{x.slow ? <div class="bad slow" data-slow="1">slow consumer: {x.slow}</div> : null}</td>
      <td data-label="user">{x.user ?? <span class="muted">{x.kind === "leaf" ? `account ${x.account ?? "?"}` : "anonymous"}</span>}</td>
      <td>{x.address}{x.lang ? <span class="muted"> {x.lang}</span> : null}</td>
      <td class="num" data-label="msgs in/out">{formatCount(x.inMsgs)} / {formatCount(x.outMsgs)}</td>
      <td class="num" data-label="bytes in/out">{formatBytes(x.inBytes)} / {formatBytes(x.outBytes)}</td>
      <td class="num" data-label="subs">{x.subscriptions}</td>
    </>
  );
}

function ClientsPanel({ o }: { o: Overview }) {
  const c = o.clients;
  const slow = c.slowConsumers ?? 0;
  return (
    <section id="clients" class="wide">
      <h2>Connections: {c.count ?? "?"}{c.totalEver !== undefined ? <span class="muted"> ({c.totalEver} since start)</span> : null}</h2>
      <ErrorLine text={c.error} />
      <p id="slow-consumers" class={slow ? "bad" : "muted"} data-count={slow}>
        {slow ? `${slow} slow consumer${slow === 1 ? "" : "s"} since nats-server started` : "No slow consumers since nats-server started."}
        {slow && c.slowByKind ? ` (clients ${c.slowByKind.clients}, routes ${c.slowByKind.routes}, leaf nodes ${c.slowByKind.leafs})` : ""}
        {slow ? ": a client read too slowly and nats cut it off. Make it read faster, or raise [limits] max_pending / write_deadline." : ""}
      </p>
      {c.rows.length ? (
        <div class="scroll">
          <table id="connections" class="cards">
            <thead><tr><th>kind</th><th>name / client id</th><th>user</th><th>address</th><th class="num">msgs in/out</th><th class="num">bytes in/out</th><th class="num">subs</th></tr></thead>
            <tbody>
              {c.rows.map((x) => <tr data-kind={x.kind} data-name={x.name} class={x.slow ? "slow-row" : undefined}><ConnectionCells x={x} /></tr>)}
            </tbody>
          </table>
        </div>
      ) : <p class="muted">No connections.</p>}
      {c.slowClosed.length ? (
        <>
          <h3>Cut off as slow consumers</h3>
          <div class="scroll">
            <table id="slow-closed" class="cards">
              <thead><tr><th>kind</th><th>name / client id</th><th>user</th><th>address</th><th class="num">msgs in/out</th><th class="num">bytes in/out</th><th class="num">subs</th></tr></thead>
              <tbody>{c.slowClosed.map((x) => <tr data-kind={x.kind} data-name={x.name} data-reason={x.closed?.reason}><ConnectionCells x={{ ...x, slow: `${x.closed?.reason ?? "slow consumer"}${x.closed?.at ? ` at ${x.closed.at.slice(11, 19)} UTC` : ""}` }} /></tr>)}</tbody>
            </table>
          </div>
        </>
      ) : null}
    </section>
  );
}

const REPLICA_CLASS = { current: "ok", behind: "bad", offline: "bad", unknown: "muted" } as const;
const REPLICA_MARK = { current: " ✓", behind: " ✗", offline: " offline", unknown: " ?" } as const;
const REPLICA_TITLE = {
  current: "current",
  behind: "behind the stream leader",
  offline: "offline",
  unknown: "only the stream leader knows whether this replica is current; open the leader's page",
} as const;

const STREAM_HEAD = { stream: "stream", kv: "bucket", object: "object store", internal: "stream" } as const;

function StreamTable({ rows, label, id }: { rows: StreamRow[]; label: string; id: string }) {
  if (!rows.length) return <p class="muted">No {label}.</p>;
  return (
    <div class="scroll">
      <table id={id}>
        <thead><tr><th>{STREAM_HEAD[rows[0]!.kind]}</th><th class="num">replicas</th><th class="num">messages</th><th class="num">bytes</th><th>replicas current</th></tr></thead>
        <tbody>
          {rows.map((s) => (
            <>
              <tr data-stream={s.name} data-kind={s.kind}>
                <td><strong>{s.name}</strong>{s.kind === "stream" ? <span class="muted"> · {s.consumers.length} consumer{s.consumers.length === 1 ? "" : "s"}</span> : null}</td><td class="num">{s.replicas}</td><td class="num">{formatCount(s.messages)}</td><td class="num">{formatBytes(s.bytes)}</td>
                <td>{s.peers.map((p) => <span class={REPLICA_CLASS[p.state]} data-replica={p.name} data-state={p.state} title={REPLICA_TITLE[p.state]}>{p.name}{p.leader ? "*" : ""}{p.self ? " (this node)" : ""}{REPLICA_MARK[p.state]} </span>)}</td>
              </tr>
              {s.kind === "stream" && s.consumers.length ? (
                <tr class="consumers"><td colspan={5}>
                  <table class="inner">
                    <thead><tr><th>consumer</th><th class="num">pending</th><th class="num">ack pending</th><th class="num">redelivered</th></tr></thead>
                    <tbody>{s.consumers.map((c) => (
                      <tr data-consumer={`${s.name}/${c.name}`} data-pending={c.pending} data-ack-pending={c.ackPending} data-redelivered={c.redelivered}>
                        <td>{c.name}{c.durable ? "" : <span class="muted"> (ephemeral)</span>}</td>
                        <td class={`num${c.pending ? " warn" : ""}`}>{formatCount(c.pending)}</td>
                        <td class={`num${c.ackPending ? " warn" : ""}`}>{formatCount(c.ackPending)}</td>
                        <td class={`num${c.redelivered ? " bad" : ""}`}>{formatCount(c.redelivered)}</td>
                      </tr>
                    ))}</tbody>
                  </table>
                </td></tr>
              ) : null}
            </>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function JetStreamPanel({ o }: { o: Overview }) {
  const j = o.jetstream;
  return (
    <section id="jetstream" class="wide">
      <h2>JetStream</h2>
      <ErrorLine text={j.error} />
      {!j.enabled ? <p class="muted">JetStream is disabled.</p> : (
        <>
          <p>
            {j.metaLeader ? <>meta leader <strong>{j.metaLeader}</strong>{j.clusterSize ? ` of ${j.clusterSize}` : ""} · </> : null}
            {j.totals.streams} streams · {j.totals.consumers} consumers · {formatCount(j.totals.messages)} messages · {formatBytes(j.totals.bytes)}
            {j.totals.maxStorageBytes !== undefined ? ` · file ${formatBytes(j.totals.storageBytes)} of ${formatBytes(j.totals.maxStorageBytes)}` : ""}
            {j.totals.maxMemoryBytes !== undefined ? ` · memory ${formatBytes(j.totals.memoryBytes)} of ${formatBytes(j.totals.maxMemoryBytes)}` : ""}
          </p>
          <h3>Streams</h3>
          <StreamTable rows={j.streams} label="streams" id="streams" />
          <h3>KV buckets</h3>
          <StreamTable rows={j.kv} label="KV buckets" id="kv-buckets" />
          <h3>Object stores</h3>
          <StreamTable rows={j.objectStores} label="object stores" id="object-stores" />
          {j.internal.length ? <p id="internal-streams" class="muted">Not listed: {j.internal.length} stream{j.internal.length === 1 ? "" : "s"} nats keeps for itself ({j.internal.join(", ")}: MQTT sessions and retained messages).</p> : null}
        </>
      )}
    </section>
  );
}

function CertPanel({ o }: { o: Overview }) {
  const c = o.certificate;
  return (
    <section id="certificate">
      <h2>Certificate</h2>
      {!c.present ? <p class="muted">No [tls] configured: clients connect without TLS.</p> : (
        <>
          {c.warning ? <p class="error warn" role="alert">{c.warning}</p> : null}
          <table>
            <Row k="subject">{c.subject}</Row>
            <Row k="issuer">{c.issuer}</Row>
            <Row k="SANs">{(c.sans ?? []).join(", ")}</Row>
            <Row k="expires">{c.notAfter} <span id="cert-days" class={c.warning ? "bad" : "ok"}>{c.expired ? `(EXPIRED ${-(c.daysLeft ?? 0)} days ago)` : `(${c.daysLeft} days left)`}</span></Row>
            <Row k="renews from">{c.renewAt}</Row>
            {c.caFingerprint ? <Row k="CA (SHA-256)"><code id="ca-fingerprint">{c.caFingerprint}</code> <span class="muted">the same on every node</span></Row> : null}
          </table>
        </>
      )}
    </section>
  );
}

/** DashboardProps is what the page needs beyond the overview. */
export interface DashboardProps { nonce: string; overview: Overview; configToml: string; logs: LogLine[] }

/** Dashboard renders the whole page. */
export function Dashboard(props: DashboardProps) {
  return (
    <Layout title={`unibus ${props.overview.node.name}`} nonce={props.nonce} refresh>
      <DashBody {...props} />
    </Layout>
  );
}

/** DashBody is #dash, the part the refresh script fetches alone (`/?part=dash`) and swaps in. */
export function DashBody({ overview: o, configToml, logs }: DashboardProps) {
  const ready = o.readiness.ready;
  return (
      <div id="dash">
        <header>
          <h1>unibus · {o.node.name}</h1>
          <div>
            <span id="verdict-badge" class={`badge ${o.health.verdict === "healthy" ? "ok" : o.health.verdict === "degraded" ? "warn" : "bad"}`}>{o.health.verdict}</span>{" "}
            <span id="readiness" class={`badge ${ready ? "ok" : "bad"}`}>{ready ? "ready" : "not ready"}</span>{" "}
            <span class="muted">updated {o.generatedAt.slice(11, 19)} UTC</span>{" "}
            <form class="inline" method="post" action="/logout"><button type="submit">Log out</button></form>
          </div>
        </header>
        {ready ? null : (
          <ul class="error" id="not-ready">
            {o.readiness.checks.filter((c) => !c.ok).map((c) => <li>{c.name}: {c.detail}</li>)}
          </ul>
        )}
        <main>
          <HealthPanel o={o} />
          <NodePanel o={o} />
          <ClusterPanel o={o} />
          <RatesPanel o={o} />
          <ClientsPanel o={o} />
          <JetStreamPanel o={o} />
          <CertPanel o={o} />
          <section id="config" class="wide">
            <h2>Effective configuration <span class="muted">(secrets redacted)</span></h2>
            <pre>{configToml}</pre>
          </section>
          <section id="log" class="wide">
            <h2>Log <span class="muted">(last {logs.length} lines, newest first, times in UTC)</span></h2>
            <ol id="log-lines">
              {logEntries(logs).map((e) => (
                <li class={`log-${e.level}`} data-level={e.level}>
                  <time>{e.time}</time> <span class={`level ${e.level === "error" ? "bad" : e.level === "warn" ? "warn" : "muted"}`}>{e.level}</span> <span class="msg">{e.message}</span>
                  {e.fields.length ? <span class="fields muted"> {e.fields.map(([k, v]) => `${k}=${v}`).join(" ")}</span> : null}
                </li>
              ))}
            </ol>
          </section>
        </main>
      </div>
  );
}
