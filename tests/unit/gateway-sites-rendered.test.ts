/**
 * An independent site ([gateway] site = NAME) is rendered as nats-server's
 * JetStream domain NAME plus leaf links to the other sites, never a
 * `gateway {}` block: nats has one JetStream meta group per supercluster, so
 * gateway-joined clusters cannot keep separate JetStreams (per-cluster
 * domains in one supercluster merge into one meta group that cannot even
 * name its peers). Of each pair of sites the one whose name sorts first
 * dials; the keep-alive notices a cut within 15 s; the wrong combinations are
 * refused with the key named; nats's "connection created / closed" lines are
 * kept as link events (how status knows since when).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { parseConfigText } from "../../lib/config/load.ts";
import { renderNatsConfig } from "../../lib/config/render.ts";
import { createCa, writeCaFiles } from "../../lib/pki/index.ts";
import { classifyNatsLine } from "../../lib/diagnosis/nats-events.ts";
import { tempDir } from "../_helpers.ts";

const dir = tempDir("unibus-sites-render-");
afterAll(() => dir[Symbol.dispose]());
await writeCaFiles(join(dir.path, "certs"), await createCa({ name: "sites test CA" }));
const TLS = { certFile: "/tls/node.pem", keyFile: "/tls/node-key.pem", caFile: "/tls/ca.pem" };
const SECRET = "gateway-secret-0123456789abcdef";
const ENV = { GW_SECRET: SECRET };
const HOST = { hostname: "a-1", addresses: ["10.1.0.11"] };

function siteToml(site: string | undefined, remotes: [string, string][], extra = ""): string {
  return [
    '[node]\nname = "a-1"',
    '[tls]\nca_cert = "certs/ca.pem"\nca_key = "certs/ca-key.pem"',
    `[gateway]\n${site ? `site = "${site}"\n` : ""}listen = "0.0.0.0:7222"\nsecret_env = "GW_SECRET"`,
    ...remotes.map(([name, url]) => `[[gateway.remotes]]\nname = "${name}"\nurls = ["${url}"]`),
    extra,
  ].join("\n\n");
}

const parse = (text: string) => parseConfigText(text, join(dir.path, "node.toml"), ENV, HOST);

describe("[gateway] site renders an independent site", () => {
  test("its own JetStream domain, a leaf port with mutual TLS and the gateway secret, and a leaf link to each site that sorts after it", () => {
    const rendered = renderNatsConfig(parse(siteToml("site-b", [["site-a", "10.1.0.11:7222"], ["site-c", "10.3.0.11:7222"]])), TLS) as any;
    expect(rendered.gateway).toBeUndefined();
    expect(rendered.jetstream.domain).toBe("site-b");
    expect(rendered.leafnodes.listen).toBe("0.0.0.0:7222");
    expect(rendered.leafnodes.tls.verify).toBe(true);
    expect(rendered.leafnodes.authorization).toMatchObject({ user: "unibus-gateway", password: SECRET });
    // site-a sorts first and dials site-b; site-b dials site-c.
    expect(rendered.leafnodes.remotes).toHaveLength(1);
    expect(rendered.leafnodes.remotes[0].urls).toEqual([`nats-leaf://unibus-gateway:${SECRET}@10.3.0.11:7222`]);
    expect(rendered.leafnodes.remotes[0].tls).toMatchObject({ cert_file: TLS.certFile, key_file: TLS.keyFile, ca_file: TLS.caFile });
    // A cut is noticed within 15 s (5 s pings, two unanswered), not nats's 2-minute default.
    expect(rendered.ping_interval).toBe("5000ms");
    expect(rendered.ping_max).toBe(2);
  });

  test("without site, [gateway] stays one supercluster: a gateway block, no domain, and the same keep-alive", () => {
    writeFileSync(join(dir.path, "cluster.secret"), "cluster-secret-0123456789abcdef\n", { mode: 0o600 });
    const text = siteToml(undefined, [["site-b", "10.2.0.11:7222"]], '[cluster]\nname = "site-a"\npeers = ["10.1.0.11:6222", "10.1.0.12:6222"]\nsecret_file = "cluster.secret"');
    const rendered = renderNatsConfig(parse(text), TLS) as any;
    expect(rendered.gateway.name).toBe("site-a");
    expect(rendered.jetstream.domain).toBeUndefined();
    expect(rendered.leafnodes).toBeUndefined();
    expect(rendered.ping_interval).toBe("5000ms");
  });

  test("refused: a site without [tls], a site beside [leafnodes], a site listing itself, a supercluster gateway without [cluster]", () => {
    const refused = (text: string) => {
      try {
        parse(text);
      } catch (err) {
        return (err as Error).message;
      }
      return "accepted";
    };
    expect(refused(siteToml("site-a", [["site-b", "10.2.0.11:7222"]]).replace(/\[tls\][^[]*/, ""))).toMatch(/gateway.*expected a \[tls\] section/s);
    expect(refused(siteToml("site-a", [["site-b", "10.2.0.11:7222"]], '[leafnodes]\nlisten = "127.0.0.1:7422"'))).toContain("gateway.site: expected no [leafnodes] beside [gateway] site");
    expect(refused(siteToml("site-a", [["site-a", "10.2.0.11:7222"]]))).toContain(`gateway.remotes.0.name: expected another site's name; "site-a" is this node's own site`);
    expect(refused(siteToml(undefined, [["site-b", "10.2.0.11:7222"]]))).toContain('expected a [cluster] table');
  });
});

test("nats's gateway and leaf connection lines become link events that fold per link", () => {
  expect(classifyNatsLine('10.2.0.11:7222 - gid:12 - Outbound gateway connection to "site-b" (NDZXNJERT) registered')).toMatchObject({ kind: "link_up", detail: { via: "gateway", remote: "site-b" }, text: 'Outbound gateway connection "site-b" registered' });
  expect(classifyNatsLine("10.2.0.11:7222 - gid:12 - Gateway connection closed: Stale Connection - Remote: site-b")).toMatchObject({ kind: "link_closed", detail: { via: "gateway", reason: "Stale Connection", remote: "site-b" } });
  expect(classifyNatsLine("10.2.0.11:7222 - lid:5 - Leafnode connection created for account: $G ")).toMatchObject({ kind: "link_up", detail: { via: "leaf" }, address: "10.2.0.11:7222" });
  const closed = classifyNatsLine("10.2.0.11:7222 - lid:5 - Leafnode connection closed: Client Closed - Remote: b-1");
  expect(closed).toMatchObject({ kind: "link_closed", detail: { via: "leaf", reason: "Client Closed", remote: "b-1" }, text: "Leafnode connection closed: Client Closed" });
  // A refused leaf secret is still the leaf rule's cause, not a mere close.
  expect(classifyNatsLine("10.2.0.11:7222 - lid:5 - Leafnode connection closed: Authentication Failure")?.kind).toBe("leaf_auth_failed");
});
