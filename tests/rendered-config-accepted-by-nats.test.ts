/**
 * Every config the schema accepts renders to a file that the real
 * nats-server accepts (`nats-server -t`): the schema and the renderer must
 * never drift from what nats-server understands.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfigText } from "../lib/config/load.ts";
import { natsConfigText, renderNatsConfig } from "../lib/config/render.ts";
import { prepareIdentity } from "../lib/identity.ts";
import { Logger } from "../lib/log.ts";
import { makeCaDir } from "./pki-fixtures.ts";
import { ROOT, prerequisite, tempDir } from "./_helpers.ts";

const lock = JSON.parse(await Bun.file(join(ROOT, "vendor", "nats-server.lock.json")).text());
const NATS = join(ROOT, "vendor", `nats-server-${lock.version}-amd64`);
const ready = prerequisite(existsSync(NATS), `${NATS} (npm run fetch)`);
const dir = tempDir("unibus-render-");
afterAll(() => dir[Symbol.dispose]());
const ca = await makeCaDir(dir.path, "ca");
/** HASH and NKEY are a real bcrypt hash and a real user public key, for the access configs. */
const HASH = (await import("bcryptjs")).default.hashSync("render-test-password", 4);
const NKEY = (await import("@nats-io/nkeys")).createUser().getPublicKey();
const SYS_NKEY = (await import("@nats-io/nkeys")).createUser().getPublicKey();
/** INTERNAL_KEY stands for the node's own system-account nkey, rendered into every config. */
const INTERNAL_KEY = (await import("@nats-io/nkeys")).createUser().getPublicKey();

/** GOOD_CONFIGS covers each key and each value form the schema allows. */
const GOOD_CONFIGS: Record<string, string> = {
  empty: "",
  minimal: `[node]\nname = "n1"`,
  example: await Bun.file(join(ROOT, "config", "node.toml")).text(),
  "sync interval": `[jetstream]\nsync = "2m"\nmax_memory = "512MB"\nmax_file = 1073741824`,
  "jetstream off": `[jetstream]\nenabled = false`,
  "lame duck": `[node]\nlame_duck_duration = "45s"`,
  "ipv6 loopback": `[client]\nlisten = "[::1]:14222"\n[monitor]\nlisten = "[::1]:18222"`,
  "all interfaces": `[client]\nlisten = "0.0.0.0:14222"\nallow_anonymous = true`,
  "users and nkeys with permissions": `[client]\nlisten = "0.0.0.0:14222"\n[[client.users]]\nuser = "a"\npassword_hash = "${HASH}"\npublish = { allow = ["s.>"], deny = ["s.x"] }\nsubscribe = { allow = ["_INBOX.>"] }\n[[client.users]]\nuser = "b"\npassword_hash = "${HASH}"\n[[client.nkeys]]\npublic_key = "${NKEY}"\npublish = ["t.>"]`,
  "leaf hub with tls and shared secret, mqtt and websocket over tls": `[tls]\nca_cert = "${ca.cert}"\nca_key = "${ca.key}"\n[[client.users]]\nuser = "a"\npassword_hash = "${HASH}"\n[leafnodes]\nlisten = "0.0.0.0:17422"\nsecret_env = "LEAF_SECRET"\n[mqtt]\nlisten = "0.0.0.0:11883"\n[websocket]\nlisten = "0.0.0.0:18080"`,
  "leaf hub with users, edge remote with ca_file": `[leafnodes]\nlisten = "127.0.0.1:17422"\n[[leafnodes.users]]\nuser = "edge-1"\npassword_hash = "${HASH}"\n[[leafnodes.remotes]]\nurl = "tls://hub.example:7422"\nuser = "mid"\nsecret_env = "LEAF_SECRET"\nca_file = "${ca.cert}"`,
  "edge remote at an IPv6 hub address": `[[leafnodes.remotes]]\nurl = "nats-leaf://[fd00::1]:7422"\nuser = "edge"\nsecret_env = "LEAF_SECRET"\n[[leafnodes.remotes]]\nurl = "tls://[fd00::2]"`,
  "gateway to another site": `[tls]\nca_cert = "${ca.cert}"\nca_key = "${ca.key}"\n[cluster]\nname = "site-a"\nlisten = "127.0.0.1:16222"\npeers = ["127.0.0.1:16222", "127.0.0.1:16223"]\n[gateway]\nlisten = "127.0.0.1:17222"\nadvertise = "127.0.0.1:17222"\nsecret_env = "GATEWAY_SECRET"\n[[gateway.remotes]]\nname = "site-b"\nurls = ["127.0.0.1:17223", "[::1]:17224"]`,
  "independent site, one box (its own JetStream domain, leaf links)": `[tls]\nca_cert = "${ca.cert}"\nca_key = "${ca.key}"\n[mqtt]\nlisten = "127.0.0.1:11883"\n[gateway]\nsite = "site-b"\nlisten = "127.0.0.1:17222"\nadvertise = "127.0.0.1:17222"\nsecret_env = "GATEWAY_SECRET"\n[[gateway.remotes]]\nname = "site-a"\nurls = ["127.0.0.1:17223"]\n[[gateway.remotes]]\nname = "site-c"\nurls = ["127.0.0.1:17224", "[::1]:17225"]`,
  "independent site of a cluster": `[tls]\nca_cert = "${ca.cert}"\nca_key = "${ca.key}"\n[cluster]\nname = "site-a"\nlisten = "127.0.0.1:16222"\npeers = ["127.0.0.1:16222", "127.0.0.1:16223"]\n[gateway]\nsite = "site-a"\nlisten = "127.0.0.1:17222"\nsecret_env = "GATEWAY_SECRET"\n[[gateway.remotes]]\nname = "site-b"\nurls = ["127.0.0.1:17223"]`,
  "websocket and mqtt in clear on loopback": `[mqtt]\nlisten = "127.0.0.1:11883"\nno_tls = true\n[websocket]\nlisten = "127.0.0.1:18080"\nno_tls = true`,
  "debug log": `[log]\nlevel = "debug"\nformat = "json"`,
  "name with underscore": `[node]\nname = "pi_kitchen-2"`,
  "tls issued by the node": `[tls]\nca_cert = "${ca.cert}"\nca_key = "${ca.key}"\nsans = ["pi.lan", "10.0.0.9"]\nlifetime_days = 90`,
  "tls without client tls": `[tls]\nca_cert = "${ca.cert}"\nca_key = "${ca.key}"\nclient_tls = false`,
  "every limit": `[limits]\nmax_payload = "8MiB"\nmax_pending = "128MiB"\nmax_connections = 500\nmax_control_line = "8KiB"\nwrite_deadline = "1500ms"\nping_interval = "45s"`,
  "system account beside client users and nkeys": `[[client.users]]\nuser = "a"\npassword_hash = "${HASH}"\n[[client.nkeys]]\npublic_key = "${NKEY}"\n[[system_account.users]]\nuser = "ops"\npassword_hash = "${HASH}"\n[[system_account.nkeys]]\npublic_key = "${SYS_NKEY}"`,
};

describe.if(ready)("nats-server -t accepts every rendered config", () => {
  for (const [name, body] of Object.entries(GOOD_CONFIGS)) {
    test(name, async () => {
      const folder = join(dir.path, name.replace(/\W+/g, "-"));
      mkdirSync(folder, { recursive: true });
      const file = join(folder, "node.toml");
      writeFileSync(file, body);
      const config = parseConfigText(body, file, { LEAF_SECRET: "leaf-secret-for-render", UNIBUS_CLUSTER_SECRET: "route-secret-for-render-0123", GATEWAY_SECRET: "gateway-secret-for-render-4567" });
      const identity = await prepareIdentity(config, new Logger({ sink: () => {} }), async () => {});
      const rendered = join(folder, "nats-server.conf");
      writeFileSync(rendered, natsConfigText(renderNatsConfig(config, identity?.files, INTERNAL_KEY), file));
      const proc = Bun.spawnSync([NATS, "-t", "-c", rendered], { stdout: "pipe", stderr: "pipe" });
      const out = proc.stdout.toString() + proc.stderr.toString();
      expect(out).toMatch(/configuration file .* is valid/);
      expect(proc.exitCode).toBe(0);
    });
  }
});
