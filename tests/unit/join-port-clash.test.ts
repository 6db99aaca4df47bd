/**
 * The join port (where a CA holder admits new boxes, renews certificates and
 * takes check-ins) is opened by unibus itself, not nats-server, so it must
 * take part in the port-clash check like every other listener: a join port
 * on the client, route, monitor, admin, leaf or gateway port is refused by
 * `config check` naming file, line and key, instead of failing after start.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfigText } from "../../lib/config/load.ts";
import { unitFacts } from "../../lib/systemd/unit.ts";
import { createCa, writeCaFiles } from "../../lib/pki/index.ts";
import { tempDir } from "../_helpers.ts";

const dir = tempDir("unibus-join-port-");
afterAll(() => dir[Symbol.dispose]());
await writeCaFiles(join(dir.path, "certs"), await createCa({ name: "join port test CA" }));
for (const name of ["cluster", "gateway", "leaf"]) {
  writeFileSync(join(dir.path, `${name}.secret`), `${name}-secret-0123456789abcdef\n`);
  chmodSync(join(dir.path, `${name}.secret`), 0o600);
}
const HOST = { hostname: "pi-1", addresses: ["10.0.0.11"] };
const FILE = join(dir.path, "node.toml");

/** node is a CA holder's config with every listener on its own port; `cluster` and `extra` change it. */
function node(opts: { cluster?: string; caKey?: boolean; extra?: string } = {}): string {
  return [
    "[node]", 'name = "pi-1"', "",
    "[client]", 'listen = "127.0.0.1:4222"', "",
    "[monitor]", 'listen = "127.0.0.1:8222"', "",
    "[admin]", 'listen = "127.0.0.1:8480"', "",
    "[cluster]", 'name = "homelab"', 'listen = "0.0.0.0:6222"', 'peers = ["10.0.0.11:6222"]', 'secret_file = "cluster.secret"', ...(opts.cluster ? [opts.cluster] : []), "",
    "[gateway]", 'listen = "0.0.0.0:7222"', 'secret_file = "gateway.secret"', "",
    "[leafnodes]", 'listen = "0.0.0.0:7422"', 'secret_file = "leaf.secret"', "",
    "[tls]", 'ca_cert = "certs/ca.pem"', ...(opts.caKey === false ? [] : ['ca_key = "certs/ca-key.pem"']), "",
    opts.extra ?? "",
  ].join("\n");
}

/** refusal loads a config and returns its error message ("" when it loads). */
function refusal(text: string): string {
  try {
    parseConfigText(text, FILE, {}, HOST);
    return "";
  } catch (err) {
    return (err as Error).message;
  }
}

/** lineOf is the 1-based line of the first line of `text` that starts with `start`, after `after`. */
function lineOf(text: string, start: string, after = ""): number {
  const lines = text.split("\n");
  const from = after ? lines.findIndex((l) => l === after) : 0;
  return lines.findIndex((l, i) => i >= from && l.startsWith(start)) + 1;
}

describe("the join port takes part in the port-clash check", () => {
  test("a CA holder's config with distinct ports loads, and its join port is a listener", () => {
    const config = parseConfigText(node(), FILE, {}, HOST);
    expect(config.cluster?.joinListen.text).toBe("0.0.0.0:6223");
    // A join port below 1024 would need the bind capability in the unit: the unit reads the same listeners.
    const low = parseConfigText(node({ cluster: 'join_listen = "0.0.0.0:623"' }), FILE, {}, HOST);
    expect(unitFacts(low).lowPorts).toEqual([{ key: "cluster.join_listen", port: 623 }]);
  });

  const others: [string, string][] = [
    ["client.listen", "127.0.0.1:4222"],
    ["monitor.listen", "127.0.0.1:8222"],
    ["admin.listen", "127.0.0.1:8480"],
    ["cluster.listen", "0.0.0.0:6222"],
    ["gateway.listen", "0.0.0.0:7222"],
    ["leafnodes.listen", "0.0.0.0:7422"],
  ];
  for (const [key, address] of others) {
    test(`join_listen on the ${key} port is refused, naming file, line and both keys`, () => {
      const text = node({ cluster: `join_listen = "0.0.0.0:${address.split(":")[1]}"` });
      const message = refusal(text);
      const port = address.split(":")[1];
      // The clash is reported at whichever of the two keys comes later in the file's table order.
      const [at, other] = ["client.listen", "monitor.listen", "admin.listen", "cluster.listen"].includes(key) ? ["cluster.join_listen", key] : [key, "cluster.join_listen"];
      const [table, leaf] = at.split(".") as [string, string];
      const line = lineOf(text, `${leaf} =`, `[${table}]`);
      expect(message).toContain(`${FILE}:${line}:1: ${at}: port ${port} is already used by ${other} (`);
      expect(message).toContain("expected a free port");
    });
  }

  test("the default join port (route port + 1) on another listener's port is refused, saying it is the default and how to move it", () => {
    const text = node({ extra: "" }).replace('[gateway]\nlisten = "0.0.0.0:7222"', '[gateway]\nlisten = "0.0.0.0:6223"');
    const message = refusal(text);
    expect(message).toContain(`${FILE}:${lineOf(text, "listen =", "[gateway]")}:1: gateway.listen: port 6223 is already used by cluster.join_listen ("0.0.0.0:6223")`);
    expect(message).toContain("cluster.join_listen is not set: it defaults to the route port + 1 (0.0.0.0:6223); set [cluster] join_listen");
  });

  test("a node without the CA key opens no join port, so nothing clashes with it", () => {
    const text = node({ caKey: false }).replace('[gateway]\nlisten = "0.0.0.0:7222"', '[gateway]\nlisten = "0.0.0.0:6223"')
      .replace('ca_cert = "certs/ca.pem"', 'ca_cert = "certs/ca.pem"\ncert = "certs/ca.pem"\nkey = "certs/ca-key.pem"');
    expect(refusal(text)).not.toContain("join_listen");
  });
});
