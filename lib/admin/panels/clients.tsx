/**
 * clients.tsx is the connections panel: who is connected (NATS, MQTT,
 * WebSocket, leaf edges) under the names people know, with the user each
 * signed in as, and the slow consumers nats cut off.
 */
import { connectionsView, type ConnectionRow, type ConnectionsView } from "../connections-view.ts";
import { formatBytes, formatCount } from "../../format.ts";
import { overviewPanel } from "../panel.ts";
import { ErrorLine } from "./_parts.tsx";

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

/** clientsPanel lists the connections and the slow consumers. */
export const clientsPanel = overviewPanel({
  id: "clients",
  title: "Connections",
  wide: true,
  view: (i): ConnectionsView => connectionsView(i.snapshot.varz, i.snapshot.connz, i.snapshot.leafz, i.snapshot.closedConnz),
  render: (c) => {
    const slow = c.slowConsumers ?? 0;
    return (
      <>
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
      </>
    );
  },
});
