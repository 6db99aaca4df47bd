/**
 * One cluster boot, every health surface. Three loopback nodes (the compiled
 * executable): h-3 has another route secret, and h-1's data dir sits on a
 * 48 MiB disk while node.toml asks for max_file = 8GiB. h-1 is then seen
 * through `unibus status` (text, --json, exit code), the admin API
 * (/api/health, /api/overview), the admin page's HTML, /readyz, /metrics
 * (unibus_problems by kind, unibus_health_verdict) and systemd's STATUS=
 * (a python3 listener as $NOTIFY_SOCKET): all carry the same verdict and the
 * same problem kinds. Then h-2 stops: h-1 has no majority, and every surface
 * turns BROKEN together. The words of each problem are the rule tables'
 * subject (tests/unit/rules/); this file checks that the surfaces agree.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeLoopbackCluster, type LoopbackCluster } from "./cluster-fixtures.ts";
import { RunningUnibus, prerequisite, tempDir, waitFor } from "./_helpers.ts";
import { STATUS_CODES, adminOf, api, gauge, metrics, readyz, status } from "./health-fixtures.ts";

const dir = tempDir("unibus-health-agree-");
const small = join(dir.path, "sd-card");
mkdirSync(small, { recursive: true });
const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", small]).exitCode === 0;
const ready = prerequisite(mounted && Boolean(Bun.which("python3")), "mount -t tmpfs (root) for a 48 MiB data disk, and python3 (the notify socket listener)");

const LISTENER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0" + sys.argv[1][1:])
print(json.dumps("bound"), flush=True)
while True:
    print(json.dumps(s.recv(65536).decode()), flush=True)
`;

let cluster: LoopbackCluster;
let listener: ReturnType<typeof Bun.spawn> | undefined;
const datagrams: string[] = [];

beforeAll(async () => {
  if (!ready) return;
  cluster = await makeLoopbackCluster(join(dir.path, "lab"), ["h-1", "h-2", "h-3"], { clusterName: "agree" });
  const [first, , odd] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
  first.dataDir = join(small, "data");
  writeFileSync(first.config, readFileSync(first.config, "utf8").replace('data_dir = "data"', `data_dir = "${first.dataDir}"`).replace('max_file = "256MiB"', 'max_file = "8GiB"'));
  const other = join(odd.dir, "other.secret");
  writeFileSync(other, "a-different-route-secret-42\n", { mode: 0o600 });
  writeFileSync(odd.config, readFileSync(odd.config, "utf8").replace(`secret_file = "${cluster.secretFile}"`, `secret_file = "${other}"`));

  const address = `@unibus-agree-${process.pid}-${crypto.randomUUID()}`;
  listener = Bun.spawn(["python3", "-c", LISTENER, address], { stdout: "pipe", stderr: "inherit" });
  void (async () => {
    let buffered = "";
    for await (const chunk of listener!.stdout as ReadableStream<Uint8Array>) {
      buffered += new TextDecoder().decode(chunk);
      for (let at = buffered.indexOf("\n"); at >= 0; at = buffered.indexOf("\n")) {
        datagrams.push(JSON.parse(buffered.slice(0, at)) as string);
        buffered = buffered.slice(at + 1);
      }
    }
  })();
  await waitFor("the notify listener to bind", () => datagrams.includes("bound"), 10_000, 50);
  for (const n of cluster.nodes) n.proc = new RunningUnibus(["--config", n.config], n === first ? { NOTIFY_SOCKET: address } : {}, n.dir);
  await Promise.all(cluster.nodes.map((n) => n.proc!.ready(120_000)));
}, 180_000);

afterAll(async () => {
  await Promise.all((cluster?.nodes ?? []).map((n) => n.proc?.stop()));
  listener?.kill();
  if (mounted) Bun.spawnSync(["umount", small]);
  dir[Symbol.dispose]();
});

/** Surfaces is what each surface of one node says about its health at about one moment. */
interface Surfaces {
  code: number;
  text: string;
  textVerdict: string;
  jsonVerdict: string;
  jsonKinds: string[];
  apiHealthVerdict: string;
  apiHealthKinds: string[];
  overviewVerdict: string;
  overviewKinds: string[];
  pageVerdict: string;
  pageKinds: string[];
  pageCaFingerprint: string;
  pageFirstSection: string;
  jsonCaFingerprint: string;
  readyz: number;
  metricsVerdict: string[];
  metricsKinds: string[];
  systemd: string;
}

const sorted = (kinds: string[]) => [...new Set(kinds)].sort();
const kindsOf = (problems: { kind: string }[] | undefined) => sorted((problems ?? []).map((p) => p.kind));

/** surfaces reads every surface of one node, the page as HTML with the admin token. */
async function surfaces(node: LoopbackCluster["nodes"][number]): Promise<Surfaces> {
  const { base, token } = adminOf(node);
  const [s, health, overview, page, r, m] = await Promise.all([
    status(node),
    api(node, "/api/health"),
    api(node, "/api/overview"),
    fetch(`${base}/`, { headers: { authorization: `Bearer ${token}`, accept: "text/html" }, signal: AbortSignal.timeout(10_000) }).then((res) => res.text()),
    readyz(node),
    metrics(node),
  ]);
  const metricKinds = [...m.matchAll(/^unibus_problems\{kind="([a-z_]+)"\} (\d+)/gm)].filter((x) => Number(x[2]) > 0).map((x) => x[1]!);
  const line = [...datagrams].reverse().find((d) => d.includes("STATUS=") && d.includes("; health: ")) ?? "";
  return {
    code: s.code,
    text: s.text,
    textVerdict: (s.text.split("\n")[0] ?? "").split(":")[0]!.toLowerCase(),
    jsonVerdict: s.json?.verdict,
    jsonKinds: kindsOf(s.json?.problems),
    apiHealthVerdict: health.verdict,
    apiHealthKinds: kindsOf(health.problems),
    overviewVerdict: overview.health?.verdict,
    overviewKinds: kindsOf(overview.health?.problems),
    pageVerdict: /id="health"[^>]*data-verdict="([a-z]+)"|data-verdict="([a-z]+)"[^>]*id="health"/.exec(page)?.slice(1).find(Boolean) ?? "",
    pageFirstSection: /<main>\s*<section id="([^"]+)"/.exec(page)?.[1] ?? "",
    pageCaFingerprint: /<code id="ca-fingerprint">([^<]+)</.exec(page)?.[1] ?? "",
    jsonCaFingerprint: s.json?.certificate?.caFingerprint ?? "",
    pageKinds: sorted([...page.matchAll(/<li class="problem[^"]*" data-kind="([a-z_]+)"/g)].map((x) => x[1]!)),
    readyz: r.status,
    metricsVerdict: ["healthy", "degraded", "broken"].filter((v) => gauge(m, "unibus_health_verdict", { verdict: v }) === 1),
    metricsKinds: sorted(metricKinds),
    systemd: /STATUS=nats-server ready on [^\n]*; health: ([^\n]*)/.exec(line)?.[1] ?? "",
  };
}

/** agreeing waits until every surface of the node says `verdict` with the same kinds (the assessment is cached; STATUS= follows every 10 s), and returns that reading. */
async function agreeing(node: LoopbackCluster["nodes"][number], verdict: "degraded" | "broken", kinds: string[]): Promise<Surfaces> {
  let last: Surfaces | undefined;
  let failed = "";
  try {
    await waitFor(`every surface of ${node.name} to say ${verdict} with ${kinds.join(", ")}`, async () => {
      try {
        last = await surfaces(node);
      } catch (err) {
        failed = String(err); // one surface did not answer in time (a loaded machine): ask again
        return false;
      }
      const all = [last.jsonKinds, last.apiHealthKinds, last.overviewKinds, last.pageKinds, last.metricsKinds];
      return kinds.every((k) => last!.jsonKinds.includes(k))
        && all.every((k) => JSON.stringify(k) === JSON.stringify(last!.jsonKinds))
        && [last.textVerdict, last.jsonVerdict, last.apiHealthVerdict, last.overviewVerdict, last.pageVerdict].every((v) => v === verdict)
        && last.systemd === last.text.split("\n")[0];
    }, 120_000, 1000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast reading: ${JSON.stringify(last, null, 1)}\nlast failure: ${failed}`);
  }
  return last!;
}

describe.if(ready)("one cluster, every surface of a node", () => {
  test("a peer with another route secret and a disk too small: status, API, page, /readyz, /metrics and STATUS= all say DEGRADED with the same kinds", async () => {
    const s = await agreeing(cluster.nodes[0]!, "degraded", ["route_auth_failed", "disk_too_small"]);
    expect(s.code).toBe(STATUS_CODES.degraded);
    expect(s.jsonKinds).toEqual(["disk_too_small", "route_auth_failed"]);
    for (const kinds of [s.apiHealthKinds, s.overviewKinds, s.pageKinds, s.metricsKinds]) expect(kinds).toEqual(s.jsonKinds);
    for (const v of [s.textVerdict, s.jsonVerdict, s.apiHealthVerdict, s.overviewVerdict, s.pageVerdict]) expect(v).toBe("degraded");
    expect(s.metricsVerdict).toEqual(["degraded"]);
    expect(s.pageFirstSection).toBe("health"); // the page leads with the problems
    expect(s.pageCaFingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(s.pageCaFingerprint).toBe(s.jsonCaFingerprint);
    expect(s.readyz).toBe(200); // two of three routed nodes are a majority: clients are served
    expect(s.systemd).toStartWith("DEGRADED: node h-1, 2 degraded: ");
    expect(s.systemd).toBe(s.text.split("\n")[0]!);
    // The real 48 MiB disk, as measured, in the log at start and in status, with a limit that fits.
    expect(cluster.nodes[0]!.proc!.log).toContain("jetstream.max_file is 8.0 GiB but the disk of");
    expect(s.text).toMatch(/jetstream\.max_file is 8\.0 GiB but the disk of .*sd-card\/data has only \d+(\.\d)? MiB free/);
    expect(s.text).toMatch(/fix: set jetstream\.max_file = "[1-3]\dMiB" \(or less\) in .*node\.toml/);
    // The refused route is named as a secret mismatch (from nats-server's own log line), not as a missing route.
    expect(s.text).toContain("route secret mismatch:");
    expect(s.text).not.toContain("no route to");
  }, 180_000);

  test("a second peer stops: every surface turns BROKEN together, /readyz 503", async () => {
    expect(await cluster.nodes[1]!.proc!.stop()).toBe(0);
    const s = await agreeing(cluster.nodes[0]!, "broken", ["route_auth_failed", "disk_too_small", "peer_unreachable"]);
    expect(s.code).toBe(STATUS_CODES.broken);
    for (const kinds of [s.apiHealthKinds, s.overviewKinds, s.pageKinds, s.metricsKinds]) expect(kinds).toEqual(s.jsonKinds);
    expect(s.metricsVerdict).toEqual(["broken"]);
    expect(s.readyz).toBe(503);
    expect(s.systemd).toStartWith("BROKEN: node h-1, ");
    expect(s.systemd).toBe(s.text.split("\n")[0]!);
    // The real probe of the stopped peer's route port says why.
    const gone = cluster.nodes[1]!;
    expect(s.text).toContain(`no route to peer 127.0.0.1:${gone.route}: connection refused (nothing listens there: unibus is not running, or uses another route port)`);
    expect(s.text).toContain(`fix: make sure unibus runs there (systemctl status unibus), that its route port ${gone.route} is reachable from this node`);
  }, 180_000);
});
