/**
 * An edge lists every node of its hub cluster in one remote (`urls`), the
 * old `url` keeps working, the same hub node in two remotes is refused (it
 * would deliver every message twice), several remotes are warned about, and
 * the leaf keep-alive becomes nats-server's ping settings so a cut uplink
 * is noticed within it. Uplinks are paired with the hub node they are
 * actually connected to.
 */
import { describe, expect, test } from "bun:test";
import { parseConfigText } from "../../lib/config/load.ts";
import { renderNatsConfig } from "../../lib/config/render.ts";
import { ConfigError } from "../../lib/errors.ts";
import { pairUplinks } from "../../lib/diagnosis/leaf-uplinks.ts";
import { preflightWarnings } from "../../lib/diagnosis/preflight.ts";
import { hubOrder } from "../../lib/fleet/hub-order.ts";

const FILE = "/etc/unibus/edge.toml";
const ENV = { HUB_SECRET: "edge-secret-0123456789" };
const edge = (leaf: string) => `[node]\nname = "edge-1"\ndata_dir = "/tmp/unibus-unit-edge"\n[leafnodes]\n${leaf}`;
const remote = (urls: string) => `[[leafnodes.remotes]]\n${urls}\nuser = "edge-1"\nsecret_env = "HUB_SECRET"\n`;

function configError(text: string): string {
  try {
    parseConfigText(text, FILE, ENV);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error("expected a config error");
}

describe("[[leafnodes.remotes]] urls", () => {
  test("urls renders every hub node into one nats remote, credentials in each", () => {
    const config = parseConfigText(edge(remote('urls = ["nats-leaf://10.0.0.11:7422", "nats-leaf://10.0.0.12", "tls://hub-3.lan:7422"]')), FILE, ENV);
    const r = config.leafnodes!.remotes[0]!;
    expect(r.label).toBe("nats-leaf://10.0.0.11:7422, nats-leaf://10.0.0.12:7422, tls://hub-3.lan:7422");
    const rendered = renderNatsConfig(config) as { leafnodes: { remotes: { urls: string[]; dont_randomize?: boolean }[] } };
    // In this edge's own order (hub-order.ts), which nats keeps.
    expect(rendered.leafnodes.remotes[0]!.urls.toSorted()).toEqual([
      "nats-leaf://edge-1:edge-secret-0123456789@10.0.0.11:7422",
      "nats-leaf://edge-1:edge-secret-0123456789@10.0.0.12:7422",
      "tls://edge-1:edge-secret-0123456789@hub-3.lan:7422",
    ]);
    expect(rendered.leafnodes.remotes[0]!.urls.map((u) => u.replace(/^\w[\w-]*:\/\/[^@]*@/, ""))).toEqual(hubOrder("edge-1", r.urls).map((u) => `${u.host}:${u.port}`));
    expect(rendered.leafnodes.remotes[0]!.dont_randomize).toBe(true);
  });

  test("url alone still works; url and urls together, or neither, are refused", () => {
    expect(parseConfigText(edge(remote('url = "nats-leaf://hub.lan"')), FILE, ENV).leafnodes!.remotes[0]!.urls.map((u) => u.text)).toEqual(["nats-leaf://hub.lan:7422"]);
    expect(configError(edge(remote('url = "nats-leaf://a:7422"\nurls = ["nats-leaf://b:7422"]')))).toContain("expected url (one hub node) or urls (every node of the hub cluster), exactly one of them");
    expect(configError(edge(remote("")))).toContain("exactly one of them");
    expect(configError(edge(remote('urls = ["nats-leaf://a:7422", "ftp://b"]')))).toMatch(/leafnodes\.remotes\.0\.urls\.1[^\n]*scheme "ftp" is not supported/);
  });

  test("one hub node in two remotes is refused: every message would arrive twice", () => {
    const text = edge(remote('urls = ["nats-leaf://10.0.0.11:7422", "nats-leaf://10.0.0.12:7422"]') + remote('url = "nats-leaf://10.0.0.12:7422"'));
    expect(configError(text)).toContain("nats-leaf://10.0.0.12:7422 is also in [[leafnodes.remotes]] entry 1, and two uplinks into one hub cluster deliver every message twice");
  });

  test("several remotes are warned about: into one hub cluster they deliver every message once per remote", () => {
    const config = parseConfigText(edge(remote('url = "nats-leaf://10.0.0.11:7422"') + remote('url = "nats-leaf://10.0.0.12:7422"')), FILE, ENV);
    const w = preflightWarnings(config).find((x) => x.key === "leafnodes.remotes");
    expect(w?.message).toContain("2 [[leafnodes.remotes]] entries all carry this node's one account");
    expect(w?.message).toContain("urls = [...]");
  });
});

describe("[leafnodes] keepalive", () => {
  test("defaults to 15 s: nats pings every 5 s and drops an uplink after two unanswered pings", () => {
    const config = parseConfigText(edge(remote('url = "nats-leaf://hub.lan"')), FILE, ENV);
    expect(config.leafnodes!.keepaliveMs).toBe(15_000);
    const rendered = renderNatsConfig(config);
    expect(rendered.ping_interval).toBe("5000ms");
    expect(rendered.ping_max).toBe(2);
  });

  test("is configurable, bounded, and a shorter [limits] ping_interval wins", () => {
    const twelve = parseConfigText(edge(`keepalive = "12s"\n${remote('url = "nats-leaf://hub.lan"')}`), FILE, ENV);
    expect(renderNatsConfig(twelve).ping_interval).toBe("4000ms");
    const limited = parseConfigText(`${edge(remote('url = "nats-leaf://hub.lan"'))}[limits]\nping_interval = "2s"\n`, FILE, ENV);
    expect(renderNatsConfig(limited).ping_interval).toBe("2000ms");
    expect(configError(edge(`keepalive = "1s"\n${remote('url = "nats-leaf://hub.lan"')}`))).toContain("from 3s to 10m");
  });

  test("a node without [leafnodes] keeps nats's own ping settings", () => {
    const config = parseConfigText(`[node]\nname = "plain"\ndata_dir = "/tmp/unibus-unit-plain"\n`, FILE, ENV);
    expect(renderNatsConfig(config).ping_interval).toBeUndefined();
  });
});

describe("uplink pairing", () => {
  const config = parseConfigText(edge(remote('urls = ["nats-leaf://10.0.0.11:7422", "nats-leaf://10.0.0.12:7422", "nats-leaf://10.0.0.13:7422"]')), FILE, ENV);
  const remotes = config.leafnodes!.remotes;

  test("an uplink on another hub node than the first URL is named by that node", () => {
    const paired = pairUplinks(remotes, [{ name: "hub-3", address: "10.0.0.13:7422", solicited: true }]);
    expect(paired[0]!.connection?.name).toBe("hub-3");
  });

  test("an uplink on an address the hub gossiped still belongs to the remote; accepted edges never do", () => {
    const paired = pairUplinks(remotes, [{ name: "edge-9", address: "10.0.0.50:40000", solicited: false }, { name: "hub-4", address: "10.0.0.14:7422", solicited: true }]);
    expect(paired[0]!.connection?.name).toBe("hub-4");
    expect(pairUplinks(remotes, [{ name: "edge-9", address: "10.0.0.50:40000", solicited: false }])[0]!.connection).toBeUndefined();
  });
});

describe("[leafnodes] store_and_forward", () => {
  test("an edge that stores and forwards runs JetStream in its own domain, named after the node", () => {
    const config = parseConfigText(edge(`store_and_forward = ["sensors.>"]\n${remote('url = "nats-leaf://hub.lan"')}`), FILE, ENV);
    expect(config.leafnodes!.storeAndForward).toEqual(["sensors.>"]);
    expect((renderNatsConfig(config).jetstream as { domain?: string }).domain).toBe("edge-1");
    const plain = parseConfigText(edge(remote('url = "nats-leaf://hub.lan"')), FILE, ENV);
    expect((renderNatsConfig(plain).jetstream as { domain?: string }).domain).toBeUndefined();
  });

  test("bad subjects, no uplink or no JetStream are refused", () => {
    expect(configError(edge(`store_and_forward = ["sensors..x"]\n${remote('url = "nats-leaf://hub.lan"')}`))).toContain("store_and_forward");
    expect(configError(`[node]\nname = "hub"\ndata_dir = "/tmp/x"\n[leafnodes]\nlisten = "127.0.0.1:7422"\nstore_and_forward = ["a.>"]\n`)).toContain("expected [[leafnodes.remotes]]: store and forward keeps an edge's messages for its hub");
    expect(configError(`${edge(`store_and_forward = ["a.>"]\n${remote('url = "nats-leaf://hub.lan"')}`)}[jetstream]\nenabled = false\n`)).toContain("expected [jetstream] enabled = true");
  });
});
