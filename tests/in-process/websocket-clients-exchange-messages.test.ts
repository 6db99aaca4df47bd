/**
 * WebSocket: [websocket] opens nats-server's WebSocket listener, over TLS
 * with the node certificate (wss) and guarded by the same [[client.users]],
 * or in clear with no_tls = true on loopback only. Clients use wsconnect
 * from @nats-io/nats-core over Bun's global WebSocket. The nodes run in
 * this process (tests/_node-harness.ts): the subject is what the node
 * renders and serves.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { wsconnect, type ConnectionOptions } from "@nats-io/nats-core";
import { makeCaDir } from "../pki-fixtures.ts";
import { freePort, prerequisite, runUnibus, tempDir, waitFor, writeConfig } from "../_helpers.ts";
import { hostNatsAvailable, startNode, type InProcessNode } from "../_node-harness.ts";

const WEB_PW = "browser-secret-2024";

const ready = prerequisite(hostNatsAvailable(), "the vendored nats-server for this CPU (npm run fetch)");
const dir = tempDir("unibus-ws-");
const nodes: InProcessNode[] = [];
const conns: NatsConnection[] = [];
let caPem = "";
let caFile = "";
let wssUrl = "";
let wsUrl = "";
let tlsClientUrl = "";
let plainClientUrl = "";

/** bunWss opens wss:// with Bun's WebSocket trusting the cluster CA (browsers would trust it via the OS store). */
function bunWss(u: string, _opts: ConnectionOptions) {
  const socket = new WebSocket(u, { tls: { ca: caPem } } as unknown as string[]);
  return Promise.resolve({ socket, encrypted: true });
}

async function exchange(a: NatsConnection, b: NatsConnection, subject: string): Promise<void> {
  const got: string[] = [];
  b.subscribe(subject, { callback: (_e, m) => void got.push(m.string()) });
  await b.flush();
  a.publish(subject, "over the web");
  await a.flush();
  await waitFor(`${subject} delivered`, () => got.length > 0, 10_000, 20);
  expect(got).toEqual(["over the web"]);
}

function keep(nc: NatsConnection): NatsConnection {
  conns.push(nc);
  return nc;
}

beforeAll(async () => {
  if (!ready) return;
  const ca = await makeCaDir(dir.path, "ca");
  caFile = ca.cert;
  caPem = readFileSync(ca.cert, "utf8");
  const [c1, w1, c2, w2] = [await freePort(), await freePort(), await freePort(), await freePort()];
  wssUrl = `wss://127.0.0.1:${w1}`;
  wsUrl = `ws://127.0.0.1:${w2}`;
  tlsClientUrl = `tls://127.0.0.1:${c1}`;
  plainClientUrl = `127.0.0.1:${c2}`;
  const secure = `
[node]
name = "ws-tls"
data_dir = "data-tls"
[client]
listen = "127.0.0.1:${c1}"
[[client.users]]
user = "web"
password_env = "UNIBUS_TEST_WEB_PW"
[websocket]
listen = "127.0.0.1:${w1}"
[tls]
ca_cert = "${ca.cert}"
ca_key = "${ca.key}"
[monitor]
listen = "127.0.0.1:${await freePort()}"
[admin]
listen = "127.0.0.1:${await freePort()}"
`;
  const plain = `
[node]
name = "ws-plain"
data_dir = "data-plain"
[client]
listen = "127.0.0.1:${c2}"
[websocket]
listen = "127.0.0.1:${w2}"
no_tls = true
[monitor]
listen = "127.0.0.1:${await freePort()}"
[admin]
listen = "127.0.0.1:${await freePort()}"
`;
  nodes.push(await startNode({ name: "ws-tls", toml: secure, env: { UNIBUS_TEST_WEB_PW: WEB_PW } }), await startNode({ name: "ws-plain", toml: plain }));
});

afterAll(async () => {
  for (const nc of conns) await nc.close().catch(() => {});
  for (const n of nodes) await n[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

describe.if(ready)("WebSocket clients exchange messages with NATS clients", () => {
  test("over wss with the node certificate, a signed-in WebSocket client and a TCP client exchange messages both ways", async () => {
    const web = keep(await wsconnect({ servers: wssUrl, wsFactory: bunWss, user: "web", pass: WEB_PW, timeout: 5_000, reconnect: false }));
    const tcp = keep(await connect({ servers: tlsClientUrl, tls: { caFile }, user: "web", pass: WEB_PW, timeout: 5_000, reconnect: false }));
    await exchange(web, tcp, "web.to.tcp");
    await exchange(tcp, web, "tcp.to.web");
  });

  test("a WebSocket client without credentials, or with a wrong password, is refused", async () => {
    await expect(wsconnect({ servers: wssUrl, wsFactory: bunWss, timeout: 5_000, reconnect: false })).rejects.toThrow(/Authorization Violation|Authentication Failure/i);
    await expect(wsconnect({ servers: wssUrl, wsFactory: bunWss, user: "web", pass: "wrong-password", timeout: 5_000, reconnect: false })).rejects.toThrow(/Authorization Violation|Authentication Failure/i);
  });

  test("with no_tls on loopback, a plain ws:// client exchanges messages", async () => {
    const web = keep(await wsconnect({ servers: wsUrl, timeout: 5_000, reconnect: false }));
    const tcp = keep(await connect({ servers: plainClientUrl, timeout: 5_000, reconnect: false }));
    await exchange(web, tcp, "plain.web");
    await exchange(tcp, web, "plain.tcp");
  });

  test("no_tls on a network address is refused at start, naming websocket.no_tls", async () => {
    using d = tempDir();
    const file = writeConfig(d.path, `[client]\nallow_anonymous = true\n[websocket]\nlisten = "0.0.0.0:${await freePort()}"\nno_tls = true\n`);
    const { code, stderr } = await runUnibus(["--config", file]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}:5:1: websocket.no_tls: expected no_tls only on a loopback address`);
  });
});
