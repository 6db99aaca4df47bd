/**
 * nats-server's reload refusals, as it prints them (Go option names, Go
 * values, pointers), become the node.toml key and "restart unibus".
 */
import { expect, test } from "bun:test";
import { explainReloadRefusal } from "../../lib/natsd/reload-refusal.ts";

const REFUSALS: [string, string][] = [
  ['Failed to reload server configuration: config reload not supported for LeafNode: config reload not supported for LeafNode: field "Users": old=[0x21cf4a0 0x21cf4c0], new=[0x21cf500 0x21cf520 0x21cf540]', "leafnodes.users"],
  ["Failed to reload server configuration: config reload not supported for ServerName: old=t2, new=t2b", "node.name"],
  ["Failed to reload server configuration: config reload not supported for Port: old=24322, new=24323", "client.listen"],
  ["Failed to reload server configuration: config reload not supported for MQTT: old={ 0      0 0 false 0s 0 <nil> false 0 map[] 0s 0s 0 <nil> false false}, new={127.0.0.1 21883      0 0 false 0s 0 <nil> false 2 map[] 0s 0s 0 <nil> false false}", "[mqtt]"],
  ["Failed to reload server configuration: config reload not supported for MaxPending: old=67108864, new=134217728", "limits.max_pending"],
  ["Failed to reload server configuration: config reload not supported for decreasing jetstream max memory and store", "jetstream.max_memory"],
  ["Failed to reload server configuration: config reload not supported for cluster port: old=6222, new=6223", "cluster.listen"],
];

test("each refusal names the node.toml key and a restart, without Go values", () => {
  for (const [message, key] of REFUSALS) {
    const plain = explainReloadRefusal(message);
    expect(plain).toContain(key);
    expect(plain).toContain("restart unibus");
    expect(plain).not.toMatch(/0x[0-9a-f]+|old=|new=|<nil>|map\[/);
  }
});

test("an unknown refusal loses its Go values; other messages pass unchanged", () => {
  expect(explainReloadRefusal("Failed to reload server configuration: config reload not supported for Gateway: old={x 0x1}, new={y 0x2}"))
    .toBe("Failed to reload server configuration: config reload not supported for Gateway: this setting cannot change while running; restart unibus to apply it");
  expect(explainReloadRefusal("nats-server did not confirm the reload")).toBe("nats-server did not confirm the reload");
});
