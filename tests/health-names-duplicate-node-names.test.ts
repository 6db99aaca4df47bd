/**
 * Three boxes all called "raspberrypi" (the Pi default), each with a config
 * that leaves out [node] name: every node takes the host name, nats-server
 * refuses each second route as a duplicate. `config check` warns before
 * start; status names the duplicate, says the name came from the host name
 * and how to fix it (exit 4: no majority, no meta leader), relaying what
 * nats-server said. Each node runs in its own UTS namespace under that host
 * name. (That the page, /readyz and /metrics carry the verdict status gives:
 * tests/health-surfaces-agree.test.ts; the rule's words:
 * tests/unit/rules/duplicate-name.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeLoopbackCluster, type LoopbackCluster } from "./cluster-fixtures.ts";
import { BIN_X64, prerequisite, tempDir, waitFor } from "./_helpers.ts";
import { HostedNode, STATUS_CODES, asHost, canUnshareUts, status } from "./health-fixtures.ts";

const ready = prerequisite(canUnshareUts(), "unshare --uts (root) to give each node the host name raspberrypi");
const dir = tempDir("unibus-health-dup-");
let cluster: LoopbackCluster;
const hosts: HostedNode[] = [];

beforeAll(async () => {
  if (!ready) return;
  cluster = await makeLoopbackCluster(dir.path, ["pi-a", "pi-b", "pi-c"], { clusterName: "lab" });
  for (const n of cluster.nodes) writeFileSync(n.config, readFileSync(n.config, "utf8").replace(/^name = "pi-."\n/m, ""));
  for (const n of cluster.nodes) hosts.push(new HostedNode("raspberrypi", n.config, n.dir));
  await Promise.all(hosts.map((h) => h.ready()));
}, 180_000);

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  dir[Symbol.dispose]();
});

describe.if(ready)("three nodes that take the same host name", () => {
  test("config check warns that the clustered node would be named after its host", async () => {
    const node = cluster.nodes[0]!;
    const p = Bun.spawn([...asHost("raspberrypi"), BIN_X64, "config", "check", "--config", node.config], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(0);
    expect(out).toContain("valid, with 1 warning");
    expect(err).toContain(`warning: ${node.config}: node.name: [node] name is not set, so this clustered node takes its name from the host name "raspberrypi"`);
    expect(err).toContain(`set [node] name = "…" (unique per node) in ${node.config}`);
    // The running node said the same in its log at start.
    expect(hosts[0]!.log).toContain("[node] name is not set");
  });

  test("status names the duplicate, that it came from the host name, and the fix; exit 4", async () => {
    const node = cluster.nodes[0]!;
    let s = await status(node, asHost("raspberrypi"));
    await waitFor("status to name the duplicate", async () => {
      s = await status(node, asHost("raspberrypi"));
      return s.text.includes("duplicate node name");
    }, 90_000, 500);
    expect(s.code).toBe(STATUS_CODES.broken);
    const first = s.text.split("\n")[0]!;
    expect(first).toStartWith("BROKEN: node raspberrypi");
    expect(first).toContain("duplicate node name");
    expect(s.text).toContain(`are all named "raspberrypi" (${node.config} has no [node] name, so the node takes the host name "raspberrypi"`);
    expect(s.text).toContain(`fix: give every node its own name: set [node] name = "…"`);
    expect(s.text).toMatch(/nats-server said: Remote server has a duplicate name: "raspberrypi" \(\d+ times?, last \d+ s ago\)/);
    expect(s.text).not.toContain("no route to");
    expect(s.json.problems[0].kind).toBe("duplicate_node_name");
  }, 120_000);
});
