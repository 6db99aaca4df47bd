/** `unibus token create --edge` warns when the running node does not accept edges yet (a restart is pending after adding [leafnodes]). */
import { expect, test } from "bun:test";
import { edgesNotYetAccepted } from "../../lib/cli/token.ts";
import { parseConfigText } from "../../lib/config/load.ts";
import type { Varz } from "../../lib/natsd/monitoring-types.ts";

const hub = parseConfigText('[node]\nname = "hub-1"\ndata_dir = "/tmp/token-edge"\n[leafnodes]\nlisten = "127.0.0.1:7422"\n', "/etc/unibus/unibus.toml", {});
const varz = (leaf: object) => ({ leaf } as unknown as Varz);

test("a node whose nats-server has no leafnode port yet is told to restart, one node at a time", () => {
  const w = edgesNotYetAccepted(hub, varz({}));
  expect(w).toContain("does not accept edges yet");
  expect(w).toContain("has no leafnode port");
  expect(w).toContain("sudo systemctl restart unibus");
  expect(w).toContain("one node at a time");
});

test("a node listening for leafnodes on the configured port gets no warning", () => {
  expect(edgesNotYetAccepted(hub, varz({ host: "127.0.0.1", port: 7422 }))).toBeUndefined();
});

test("a node listening on another port than the file says is told the port it uses", () => {
  expect(edgesNotYetAccepted(hub, varz({ host: "127.0.0.1", port: 7000 }))).toContain("on port 7000");
});

test("a node that is not running (no /varz) is not guessed about", () => {
  expect(edgesNotYetAccepted(hub, undefined)).toBeUndefined();
});
