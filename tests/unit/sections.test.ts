/**
 * Tests over every section of the registry (lib/config/sections.ts): a
 * table that forgets to declare a secret or a listener fails here, because
 * a forgotten secret leaks (nats-server's error lines repeat URLs with their
 * passwords) and a forgotten listener escapes the port-clash check.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { parseConfigText } from "../../lib/config/load.ts";
import { effectiveConfigToml } from "../../lib/config/effective.ts";
import { natsConfigText, renderNatsConfig } from "../../lib/config/render.ts";
import { SECTIONS, configSecrets, type UnibusConfig } from "../../lib/config/sections.ts";
import { tableName } from "../../lib/config/section.ts";
import { Logger } from "../../lib/log.ts";
import { createCa, writeCaFiles } from "../../lib/pki/index.ts";
import { ROOT, tempDir } from "../_helpers.ts";

const SOURCE = join(ROOT, "tests", "testdata", "all-sections", "node.toml");
const dir = tempDir("unibus-all-sections-");
afterAll(() => dir[Symbol.dispose]());

/** Planted secrets: characters that URL-encode differently, so both spellings are exercised. */
const planted: Record<string, string> = {};
const plant = (name: string) => (planted[name] = `${name}-S3cret/+=&?${crypto.randomUUID()}`);

async function loadAll(): Promise<{ config: UnibusConfig; text: string }> {
  cpSync(SOURCE, join(dir.path, "node.toml"));
  const text = readFileSync(SOURCE, "utf8");
  mkdirSync(join(dir.path, "secrets"), { recursive: true });
  for (const m of text.matchAll(/^\s*(?:password_file|secret_file|passphrase_file)\s*=\s*"secrets\/([^"]+)\.secret"/gm)) {
    const file = join(dir.path, "secrets", `${m[1]}.secret`);
    writeFileSync(file, `${plant(m[1]!)}\n`);
    chmodSync(file, 0o600);
  }
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^\s*(?:password_env|secret_env)\s*=\s*"([A-Z_]+)"/gm)) env[m[1]!] = plant(m[1]!);
  for (const m of text.matchAll(/^\s*password\s*=\s*"([^"]+)"/gm)) planted[`inline ${m[1]}`] = m[1]!;
  await writeCaFiles(join(dir.path, "certs"), await createCa({ name: "all sections test CA" }));
  const config = parseConfigText(text, join(dir.path, "node.toml"), env, { hostname: "all-sections", addresses: ["127.0.0.1"] });
  return { config, text };
}

const { config, text } = await loadAll();
const SYSTEM_KEY = (await import("@nats-io/nkeys")).createUser().getPublicKey();
const TLS = { certFile: "/tls/node.pem", keyFile: "/tls/node-key.pem", caFile: "/tls/ca.pem" };

describe("every section", () => {
  test("has a table in tests/testdata/all-sections/node.toml", () => {
    const tables = Object.keys(parse(text));
    for (const section of SECTIONS) expect(tables).toContain(tableName(section));
    expect(Object.keys(planted).length).toBeGreaterThanOrEqual(5);
  });

  test("declares every secret it renders: the logger redacts all of them from the nats config", () => {
    const log = new Logger({ sink: () => {} });
    for (const secret of configSecrets(config)) log.addSecret(secret);
    const rendered = natsConfigText(renderNatsConfig(config, TLS, SYSTEM_KEY), config.file);
    const redacted = log.redact(rendered);
    for (const [name, value] of Object.entries(planted)) {
      expect({ name, leaked: redacted.includes(value) || redacted.includes(encodeURIComponent(value)) }).toEqual({ name, leaked: false });
    }
  });

  test("never shows a secret in the effective config", () => {
    const effective = effectiveConfigToml(config);
    for (const [name, value] of Object.entries(planted)) {
      expect({ name, shown: effective.includes(value) || effective.includes(encodeURIComponent(value)) }).toEqual({ name, shown: false });
    }
  });

  test("declares every address it binds: each listen of the nats config is a section listener", () => {
    const declared = new Set(SECTIONS.flatMap((s) => s.listeners(config)).map((l) => l.listen.text));
    const bound: string[] = [];
    const walk = (value: unknown, key = ""): void => {
      if (Array.isArray(value)) value.forEach((v) => walk(v));
      else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) walk(v, k);
      else if ((key === "listen" || key === "http") && typeof value === "string") bound.push(value);
    };
    walk(renderNatsConfig(config, TLS, SYSTEM_KEY));
    expect(bound.length).toBeGreaterThanOrEqual(6); // client, monitor, cluster, leafnodes, mqtt, websocket
    for (const address of bound) expect(declared).toContain(address);
  });

  test("renders only its own top-level keys: no two sections write the same nats key", () => {
    const owners = new Map<string, string>();
    for (const section of SECTIONS) {
      for (const key of Object.keys(section.render(config, { tls: TLS, systemKey: SYSTEM_KEY }))) {
        expect({ key, owner: owners.get(key) ?? section.key }).toEqual({ key, owner: section.key });
        owners.set(key, section.key);
      }
    }
  });
});

describe("[mqtt] in a cluster", () => {
  test("renders MQTT's stream replicas and a JetStream API timeout that outlasts a new consumer's first election", () => {
    const rendered = renderNatsConfig(config, TLS, SYSTEM_KEY) as { mqtt?: Record<string, unknown> };
    expect(config.cluster).toBeDefined();
    expect(rendered.mqtt?.stream_replicas).toBeGreaterThanOrEqual(1);
    // nats's raft election timeout is at most 9 s; its MQTT default of 5 s refused SUBACKs while one member was down.
    expect(rendered.mqtt?.js_api_timeout).toBe("12s");
  });
});
