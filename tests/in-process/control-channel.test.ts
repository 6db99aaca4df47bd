/**
 * The control channel: the CLI asks the running node over a unix socket in
 * its data dir (lib/control) instead of signalling it and polling files.
 * The node runs in this test process (tests/_node-harness.ts); the CLI is
 * the compiled executable, as users run it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { BIN_X64, binaryExists, IN_CI, prerequisite, runUnibus } from "../_helpers.ts";
import { hostNatsAvailable, startNode, type InProcessNode } from "../_node-harness.ts";
import { dataDirLayout } from "../../lib/data-dir.ts";
import { controlRequest } from "../../lib/control/client.ts";
import { requestReload } from "../../lib/control/reload.ts";
import { requestStatus } from "../../lib/control/status.ts";

const ready = prerequisite(hostNatsAvailable(), "the vendored nats-server for this CPU (npm run fetch)");
const cli = prerequisite(binaryExists(BIN_X64), "dist/unibus-linux-x64 (npm run build)");

let n: InProcessNode;
beforeAll(async () => {
  if (ready) n = await startNode({ name: "ctl" });
});
afterAll(async () => {
  await n?.[Symbol.asyncDispose]();
});

/** monitoringRequests counts the requests nats-server's monitoring port served, per path (its own /varz counter). */
async function monitoringRequests(): Promise<number> {
  const varz = (await (await fetch(`http://${n.config.monitor.listen.text}/varz`)).json()) as { http_req_stats: Record<string, number> };
  return Object.values(varz.http_req_stats).reduce((a, b) => a + b, 0);
}

describe.if(ready)("the node's control socket", () => {
  test("the node opens control.sock, mode 0600, in its data dir", () => {
    const socket = dataDirLayout(n.config.node.dataDir).controlSocket;
    expect(n.node.controlSocket).toBe(socket);
    const st = statSync(socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  test("status is the node's one cached assessment: two asks in a row cost one set of monitoring requests", async () => {
    const first = await requestStatus(n.config.node.dataDir);
    if (!first.reached) throw new Error(first.detail);
    expect(first.status.node).toBe("ctl");
    expect(first.status.verdict).toBe("healthy");
    const before = await monitoringRequests();
    const second = await requestStatus(n.config.node.dataDir);
    if (!second.reached) throw new Error(second.detail);
    // The /varz above is the only request: the second status came from the node's cache.
    expect((await monitoringRequests()) - before).toBe(1);
    expect(second.status.checkedAt).toBe(first.status.checkedAt);
  });

  test("POST /reload applies a changed config and answers with the outcome; a broken one is refused and the node keeps running", async () => {
    const original = readFileSync(n.file, "utf8");
    writeFileSync(n.file, original.replace("[admin]", "[log]\nlevel = \"warn\"\n[admin]"));
    const applied = await requestReload(n.config.node.dataDir, 30_000);
    if (!applied.reached) throw new Error(applied.detail);
    expect(applied.outcome.ok).toBe(true);
    expect(n.node.config.log.level).toBe("warn");
    writeFileSync(n.file, original + "\n[nonsense]\n");
    const refused = await requestReload(n.config.node.dataDir, 30_000);
    if (!refused.reached) throw new Error(refused.detail);
    expect(refused.outcome.ok).toBe(false);
    expect(refused.outcome.message).toContain("nonsense");
    expect(n.node.config.log.level).toBe("warn");
    writeFileSync(n.file, original);
    const back = await requestReload(n.config.node.dataDir, 30_000);
    expect(back.reached && back.outcome.ok).toBe(true);
  });

  test("an unknown route is a 404 that names the route groups", async () => {
    const answer = await controlRequest(n.config.node.dataDir, "GET", "/nope");
    expect(answer.reached && answer.status).toBe(404);
    expect(JSON.stringify(answer.reached && answer.body)).toContain("reload, status");
  });

  test.if(cli || IN_CI)("unibus reload and unibus status ask the node over the socket", async () => {
    const reload = await runUnibus(["reload", "--config", n.file]);
    expect(reload.stderr).toBe("");
    expect(reload.stdout).toContain(`reloaded ${n.file}`);
    expect(reload.code).toBe(0);
    const status = await runUnibus(["status", "--config", n.file, "--json"]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).node).toBe("ctl");
  });
});

describe.if(ready)("without a running node", () => {
  test("a stopped node leaves no socket, and the client says the node is absent", async () => {
    await using stopped = await startNode({ name: "gone" });
    const dataDir = stopped.config.node.dataDir;
    await stopped.node.stop();
    expect(existsSync(dataDirLayout(dataDir).controlSocket)).toBe(false);
    const answer = await requestStatus(dataDir);
    expect(answer.reached).toBe(false);
    expect(!answer.reached && answer.why).toBe("absent");
  });

  test("a socket file left by a killed node is replaced at the next start", async () => {
    await using first = await startNode({ name: "stale", start: false });
    mkdirSync(first.config.node.dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(dataDirLayout(first.config.node.dataDir).controlSocket, "left behind");
    await first.node.start();
    expect(statSync(dataDirLayout(first.config.node.dataDir).controlSocket).isSocket()).toBe(true);
    expect((await requestStatus(first.config.node.dataDir)).reached).toBe(true);
  });
});
