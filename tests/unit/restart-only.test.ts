/**
 * Restart-only detection: a reload refuses, naming the key, exactly the
 * changes a running node cannot apply, and lets every other change through.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { parseConfigText } from "../../lib/config/load.ts";
import { restartOnlyChange } from "../../lib/config/sections.ts";
import { makeCaDir } from "../pki-fixtures.ts";
import { tempDir } from "../_helpers.ts";

const dir = tempDir("unibus-restart-only-");
afterAll(() => dir[Symbol.dispose]());
const ca = await makeCaDir(dir.path, "ca");
const HOST = { hostname: "box", addresses: ["127.0.0.1"] };
const load = (text: string) => parseConfigText(text, join(dir.path, "node.toml"), { UNIBUS_CLUSTER_SECRET: "route-secret-0123456789" }, HOST);
const TLS = `[tls]\nca_cert = "${ca.cert}"\nca_key = "${ca.key}"\n`;
const CLUSTER = `[cluster]\nname = "c"\nlisten = "127.0.0.1:16222"\npeers = ["127.0.0.1:16222", "127.0.0.1:16223"]\n`;
const BASE = `[node]\nname = "n1"\n[client]\nlisten = "127.0.0.1:14222"\n`;

test("changes a running node applies are not restart-only", () => {
  const current = load(BASE);
  for (const change of [
    `${BASE}[log]\nlevel = "debug"\nformat = "json"\n`,
    `${BASE}[jetstream]\nmax_memory = "1GiB"\n`,
    `${BASE}[limits]\nmax_payload = "4MiB"\nping_interval = "30s"\n`,
    `${BASE}[leafnodes]\n[[leafnodes.remotes]]\nurl = "nats-leaf://hub.lan:7422"\n`,
  ]) expect({ change, refused: restartOnlyChange(current, load(change)) }).toEqual({ change, refused: undefined });
  expect(restartOnlyChange(current, load(BASE))).toBeUndefined();
});

test("each restart-only change is named by its key", () => {
  const current = load(BASE);
  expect(restartOnlyChange(current, load(`${BASE.replace('name = "n1"', 'name = "n1"\ndata_dir = "other"')}`))).toBe("node.data_dir");
  expect(restartOnlyChange(current, load(BASE.replace('name = "n1"', 'name = "n1"\nlame_duck_duration = "30s"')))).toBe("node.lame_duck_duration");
  expect(restartOnlyChange(current, load(`${BASE}[monitor]\nlisten = "127.0.0.1:18223"\n`))).toBe("monitor.listen");
  // nats-server refuses these on reload (reload.go); unibus names them before nats prints Go values.
  expect(restartOnlyChange(current, load(BASE.replace('name = "n1"', 'name = "n2"')))).toBe("node.name");
  expect(restartOnlyChange(current, load(BASE.replace("14222", "14223")))).toBe("client.listen");
  expect(restartOnlyChange(current, load(`${BASE}[mqtt]\nlisten = "127.0.0.1:11883"\n`))).toBe("[mqtt] (adding or removing it)");
  expect(restartOnlyChange(current, load(`${BASE}[websocket]\nlisten = "127.0.0.1:18080"\nno_tls = true\n`))).toBe("[websocket] (adding or removing it)");
  expect(restartOnlyChange(current, load(`${BASE}[leafnodes]\nlisten = "127.0.0.1:17422"\n`))).toBe("leafnodes.listen (adding or removing the hub side)");
  expect(restartOnlyChange(current, load(`${BASE}[jetstream]\nsync = "2m"\n`))).toBe("jetstream.sync");
  // Edge users reload live (_edge-sign-in.ts), except the first one on a hub whose clients are anonymous.
  const HUB = `${BASE}[leafnodes]\nlisten = "127.0.0.1:17422"\n`;
  const edgeUser = (name: string) => `[[leafnodes.users]]\nuser = "${name}"\npassword_env = "EDGE_PW"\n`;
  const hubLoad = (text: string) => parseConfigText(text, join(dir.path, "node.toml"), { EDGE_PW: "edge-password-1" }, HOST);
  expect(restartOnlyChange(hubLoad(HUB + edgeUser("e1")), hubLoad(HUB + edgeUser("e1") + edgeUser("e2")))).toBeUndefined();
  expect(restartOnlyChange(hubLoad(HUB + edgeUser("e1") + edgeUser("e2")), hubLoad(HUB + edgeUser("e2")))).toBeUndefined();
  expect(restartOnlyChange(hubLoad(HUB), hubLoad(HUB + edgeUser("e1")))).toContain("the first or last way for edges to sign in");
  expect(restartOnlyChange(current, load(`${BASE}[limits]\nmax_pending = "128MiB"\n`))).toBe("limits.max_pending");
  expect(restartOnlyChange(current, load(`${BASE}[admin]\nenabled = false\n`))).toBe("[admin]");
  expect(restartOnlyChange(current, load(`${BASE}${TLS}`))).toBe("[tls] (adding or removing it)");
  const withTls = load(`${BASE}${TLS}`);
  expect(restartOnlyChange(withTls, load(`${BASE}[tls]\nca_cert = "${ca.cert}"\ncert = "${ca.cert}"\nkey = "${ca.key}"\n`))).toBe("tls.ca_key (adding or removing it)");
  expect(restartOnlyChange(withTls, load(`${BASE}${TLS}sans = ["x.lan"]\n`))).toBeUndefined();
  const clustered = load(`${BASE}${TLS}${CLUSTER}`);
  expect(restartOnlyChange(withTls, clustered)).toBe("[cluster] (adding or removing it)");
  expect(restartOnlyChange(clustered, load(`${BASE}${TLS}${CLUSTER.replace("16223", "16224")}`))).toBeUndefined();
});
