/**
 * One node's /metrics carries nats-surveyor's statz families for the whole
 * cluster (nats_core_*, nats_survey_*), gathered over the system account
 * with $SYS.REQ.SERVER.PING: Debian's Prometheus scraping only node A fills
 * every panel of surveyor's NATS overview, clusters and node resource
 * dashboards (their PromQL in tests/testdata/surveyor-dashboards.json) with
 * all three servers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, freePort, prerequisite, tempDir, waitFor } from "./_helpers.ts";
import { makeLoopbackCluster, routeNames, startNode, tlsConnect, type LoopbackCluster } from "./cluster-fixtures.ts";

const PROMETHEUS = "/usr/bin/prometheus";
const havePrometheus = prerequisite(existsSync(PROMETHEUS), "Debian package prometheus (/usr/bin/prometheus)");
const boards = JSON.parse(readFileSync(join(ROOT, "tests", "testdata", "surveyor-dashboards.json"), "utf8")) as { dashboards: { file: string; panels: { title: string; exprs: string[] }[] }[] };
const dir = tempDir("unibus-surveyor-");
let cluster: LoopbackCluster;
let metricsUrl = "";
let token = "";
let prom: ReturnType<typeof Bun.spawn> | undefined;
let promBase = "";

async function query(expr: string): Promise<number> {
  const res = await fetch(`${promBase}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  if (body.status !== "success") throw new Error(`${expr}: ${body.error}`);
  return body.data!.result.length;
}

beforeAll(async () => {
  cluster = await makeLoopbackCluster(dir.path, ["sva", "svb", "svc"], { clusterName: "survey" });
  for (const n of cluster.nodes) startNode(n);
  await Promise.all(cluster.nodes.map((n) => n.proc!.ready(120_000)));
  await waitFor("a full mesh of routes", async () => (await Promise.all(cluster.nodes.map((n) => routeNames(n.monitor)))).every((r) => r.length === 2), 90_000, 250);
  const a = cluster.nodes[0]!;
  const admin = /\[admin\]\nlisten = "127\.0\.0\.1:(\d+)"/.exec(readFileSync(a.config, "utf8"))![1]!;
  metricsUrl = `http://127.0.0.1:${admin}/metrics`;
  token = readFileSync(join(a.dataDir, "admin.token"), "utf8").trim();
  // Some traffic across the routes, so route counters move.
  const nc = await tlsConnect([cluster.nodes[1]!.client], cluster.ca.cert);
  const sub = await tlsConnect([cluster.nodes[2]!.client], cluster.ca.cert);
  sub.subscribe("survey.>");
  await sub.flush();
  for (let i = 0; i < 50; i++) nc.publish("survey.x", "ping");
  await nc.flush();
  await nc.close();
  await sub.close();
  if (!havePrometheus) return;
  const promConfig = join(dir.path, "prometheus.yml");
  writeFileSync(join(dir.path, "token"), token, { mode: 0o600 });
  writeFileSync(promConfig, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: unibus\n    authorization:\n      type: Bearer\n      credentials_file: ${join(dir.path, "token")}\n    static_configs:\n      - targets: ["127.0.0.1:${admin}"]\n`);
  const promPort = await freePort();
  promBase = `http://127.0.0.1:${promPort}`;
  prom = Bun.spawn([PROMETHEUS, `--config.file=${promConfig}`, `--storage.tsdb.path=${join(dir.path, "tsdb")}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdout: "ignore", stderr: "ignore" });
  await waitFor("8 scrapes with all three servers", async () => {
    try {
      return (await query("count_over_time(nats_core_info[1m]) >= 8")) === 3;
    } catch {
      return false;
    }
  }, 90_000, 1_000);
}, 360_000); // above the sum of its waits: a slow start fails naming the wait, not as an "(unnamed)" hook timeout

afterAll(async () => {
  prom?.kill();
  await prom?.exited;
  await Promise.all(cluster.nodes.map((n) => n.proc?.stop()));
  dir[Symbol.dispose]();
});

describe("surveyor's families from one node", () => {
  test("node A's /metrics describes all three servers, their routes and JetStream", async () => {
    const text = await (await fetch(metricsUrl, { headers: { authorization: `Bearer ${token}` } })).text();
    const names = [...text.matchAll(/^nats_core_info\{[^}]*server_name="([^"]+)"/gm)].map((m) => m[1]).sort();
    expect(names).toEqual(["sva", "svb", "svc"]);
    expect(text).toMatch(/^nats_survey_surveyed_count 3$/m);
    expect(text).toMatch(/^nats_survey_expected_count 3$/m);
    for (const n of ["sva", "svb", "svc"]) {
      expect(text).toMatch(new RegExp(`^nats_core_route_count\\{server_cluster="survey",server_name="${n}",server_id="\\w+"\\} 2$`, "m"));
      expect(text).toMatch(new RegExp(`^nats_core_jetstream_enabled\\{server_id="\\w+",server_name="${n}",cluster_name="survey"\\} 1$`, "m"));
    }
    expect(text).toMatch(/^nats_core_route_sent_msg_count\{[^}]*server_route_name="sv[abc]"/m);
  });

  describe.if(havePrometheus)("surveyor's dashboards, with Prometheus scraping node A only", () => {
    for (const board of boards.dashboards) {
      test(`${board.file}: every panel has data for the cluster`, async () => {
        const empty: string[] = [];
        for (const panel of board.panels) {
          const counts = await Promise.all(panel.exprs.map((e) => query(e.replace(/\$cluster/g, ".*"))));
          if (counts.some((n) => n === 0)) empty.push(panel.title || panel.exprs[0]!);
        }
        console.log(`${board.file}: ${board.panels.length - empty.length} of ${board.panels.length} panels have data`);
        expect(empty).toEqual([]);
      });
    }
  });
});
