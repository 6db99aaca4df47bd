/**
 * README's steps that add a listener to a running box ([leafnodes] listen for
 * the edge fleet, [mqtt]) must say restart: a running node refuses to take a
 * new listener on a reload, so README's former "then reload" step failed
 * (found on the bed: "leafnodes.listen (adding or removing the hub side)
 * cannot change while running; restart unibus").
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfigText } from "../../lib/config/load.ts";
import { restartOnlyChange } from "../../lib/config/sections.ts";
import { ROOT } from "../_helpers.ts";

const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const section = (title: string) => {
  const start = readme.indexOf(`## ${title}`);
  expect(start).toBeGreaterThan(-1);
  return readme.slice(start, readme.indexOf("\n## ", start + 1));
};
const BASE = `[node]\nname = "pi-1"\n`;
const config = (toml: string) => parseConfigText(BASE + toml, "/etc/unibus/unibus.toml", {});

test("adding the hub side of leaf nodes needs a restart, and README's edge fleet says restart", () => {
  expect(restartOnlyChange(config(""), config(`[leafnodes]\nlisten = "127.0.0.1:7422"\n`))).toContain("leafnodes.listen");
  const steps = section("Edge fleet");
  expect(steps).toContain("sudo systemctl restart unibus");
  expect(steps).not.toContain("sudo systemctl reload unibus");
});

test("adding [mqtt] needs a restart, and README's MQTT section says how to turn it on with one", () => {
  expect(restartOnlyChange(config(""), config(`[mqtt]\nlisten = "127.0.0.1:1883"\nno_tls = true\n`))).toContain("[mqtt]");
  const mqtt = readme.slice(readme.indexOf("### MQTT"), readme.indexOf("nats maps MQTT topics"));
  expect(mqtt).toContain("MQTT is off until");
  expect(mqtt).toContain("restart");
});

test("README's rolling-upgrade wait shows why it still waits (any member's problem holds it)", () => {
  const pis = section("Three Raspberry Pis");
  expect(pis).toMatch(/until sudo unibus status >\/dev\/null; do sudo unibus status \| head -1; sleep 2; done/);
});
