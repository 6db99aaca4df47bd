/**
 * A real Chromium logs in to one node of a 3-node loopback cluster (real
 * routes with TLS and a route secret) and sees the cluster picture: three
 * green routes, then red ones once a node is stopped, while the node stays
 * ready (two of three is still a majority). Screenshots go to tests/artifacts/.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { makeLoopbackCluster, type LoopbackCluster } from "./cluster-fixtures.ts";
import { RunningUnibus, tempDir, waitFor } from "./_helpers.ts";
import { ARTIFACTS, haveChromium as chromiumPresent, launchChromium } from "./admin-fixtures.ts";

const haveChromium = chromiumPresent();
const dir = tempDir("unibus-admin-cluster-");
let cluster: LoopbackCluster;
let browser: Browser | undefined;
let base = "";
let token = "";

function adminPort(configFile: string): number {
  const m = /\[admin\]\s*\nlisten = "127\.0\.0\.1:(\d+)"/.exec(readFileSync(configFile, "utf8"));
  if (!m) throw new Error(`no [admin] listen in ${configFile}`);
  return Number(m[1]);
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return (await res.json()) as T;
}

beforeAll(async () => {
  if (!haveChromium) return;
  cluster = await makeLoopbackCluster(dir.path, ["lab-1", "lab-2", "lab-3"], { clusterName: "homelab" });
  for (const n of cluster.nodes) n.proc = new RunningUnibus(["--config", n.config], {}, n.dir);
  await Promise.all(cluster.nodes.map((n) => n.proc!.ready(120_000)));
  const first = cluster.nodes[0]!;
  base = `http://127.0.0.1:${adminPort(first.config)}`;
  token = readFileSync(join(first.dataDir, "admin.token"), "utf8").trim();
  await waitFor("lab-1 to have routes to both peers", async () => (await api<{ routesUp: number }>("/api/cluster")).routesUp === 2, 60_000, 250);
  // Routes come up before the JetStream meta group elects a leader: the page's verdict waits for both.
  await waitFor("lab-1 to be ready (/readyz 200)", async () => (await fetch(`${base}/readyz`)).status === 200, 60_000, 250);
  browser = await launchChromium();
}, 300_000); // above the sum of its waits: a slow start fails naming the wait, not as an "(unnamed)" hook timeout

afterAll(async () => {
  await browser?.close();
  await Promise.all((cluster?.nodes ?? []).map((n) => n.proc?.stop()));
  dir[Symbol.dispose]();
});

describe.if(haveChromium)("the cluster picture in Chromium", () => {
  test("three green routes on a healthy 3-node cluster, red ones after a node stops", async () => {
    const page = await browser!.newPage();
    await page.goto(`${base}/`);
    await page.fill("#token", token);
    await Promise.all([page.waitForLoadState("load"), page.click("button[type=submit]")]);
    expect(await page.textContent("#node-name")).toBe("lab-1");
    expect(await page.textContent("#cluster h2")).toBe("Cluster homelab");
    const upRoutes = page.locator("#cluster svg g.route[data-state=up]");
    expect(await upRoutes.count()).toBe(3);
    expect(await page.locator("#cluster svg g.route[data-state=down]").count()).toBe(0);
    expect(await page.locator("#cluster svg g.node").count()).toBe(3);
    // The two routes of lab-1 are measured and labelled with their RTT.
    const measured = await page.locator("#cluster svg g.route[data-observed=measured] text").allTextContents();
    expect(measured).toHaveLength(2);
    for (const rtt of measured) expect(rtt).toMatch(/^\d+(\.\d+)?(µs|ms|s)$/);
    expect(await page.textContent("#readiness")).toBe("ready");
    // The node certificate issued by the cluster CA is on the page.
    const cert = (await page.textContent("#certificate"))!;
    expect(cert).toContain("lab-1");
    expect(cert).toMatch(/\d+ days left/);
    await page.screenshot({ path: join(ARTIFACTS, "admin-cluster-3-green.png"), fullPage: true });
    // Neither the route secret nor the admin token reaches the page or the API.
    for (const body of [await page.content(), await (await fetch(`${base}/api/config`, { headers: { authorization: `Bearer ${token}` } })).text()]) {
      expect(body).toContain("[cluster]");
      expect(body).not.toContain(cluster.secret);
      expect(body).not.toContain(token);
    }

    expect(await cluster.nodes[2]!.proc!.stop()).toBe(0);
    // The page refreshes itself; lab-3 turns red.
    await page.waitForSelector('#cluster svg g.route[data-state=down][data-route-to="lab-3"]', { timeout: 30_000 });
    // lab-3's node turns red once every view of it agrees: lab-2's route to lab-3 may still read up for one
    // more monitoring round after lab-1's has gone.
    await page.waitForSelector('#cluster svg g.node[data-node="lab-3"][data-state=down]', { timeout: 30_000 });
    expect(await page.getAttribute('#cluster svg g.route[data-route-to="lab-2"][data-route-from="lab-1"]', "data-state")).toBe("up");
    await page.screenshot({ path: join(ARTIFACTS, "admin-cluster-1-red.png"), fullPage: true });
    // Two of three nodes are a majority: lab-1 stays ready.
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.stringify(await ready.json())).toContain("routes to 1 of 2 peers up");
    await page.close();
  }, 120_000);
});
