/**
 * Two sites joined by [gateway] with `site = "NAME"`, each in its own network
 * namespace, stay writable through a WAN cut: each keeps its own JetStream
 * (domain = its site), so with the link cable pulled both make streams and
 * KV buckets and take acknowledged publishes; status, `--json`, the page and
 * /metrics show the gateway down and since when (gateway_down, degraded), and
 * once the cable is back the sites reach each other's JetStream again.
 * Site B is made with `unibus init cluster --ca` from site A's CA.
 *
 * One box per site proves the point: nothing of a site's JetStream crosses
 * the link (a site of three has its meta group of three inside the site),
 * whereas one supercluster fails with 1+1 already (its single meta group
 * of two has no majority on either side: README "Sites").
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN_X64, ROOT, prerequisite, runUnibus, tempDir, waitFor } from "./_helpers.ts";
import { Fleet, netnsAvailable, sh, writeSecret, type Box } from "./fleet-netns-fixtures.ts";
import { gauge } from "./health-fixtures.ts";
import { randomSecret } from "./cluster-fixtures.ts";

const dir = tempDir("unibus-sites-");
const fleet = new Fleet(dir.path);
const ready = prerequisite(netnsAvailable(fleet.run), "ip netns (root and iproute2) and curl for two sites");
let a: Box;
let b: Box;
const site = new Map<Box, string>();
const CLIENT = join(ROOT, "tests", "sites-netns-client.ts");

/** write runs sites-netns-client.ts's write inside a box: a stream, 5 acknowledged publishes and a KV bucket, in its own or another site's JetStream. */
function write(box: Box, tag: string, domain?: string): { stream?: string; acked?: number; kvRevision?: number; domain?: string | null; error?: string } {
  const r = sh(["ip", "netns", "exec", box.ns, process.execPath, CLIENT, "write", "tls://127.0.0.1:4222", join(box.dir, "certs", "ca.pem"), tag, ...(domain ? [domain] : [])], true);
  try {
    return JSON.parse(r.out.trim().split("\n").at(-1)!);
  } catch {
    return { error: r.out };
  }
}

/** admin reads a path of the box's admin server inside its namespace with its admin token. */
function admin(box: Box, path: string): string {
  const token = readFileSync(join(box.dir, "data", "admin.token"), "utf8").trim();
  return sh(["ip", "netns", "exec", box.ns, "curl", "-s", "-m", "5", "-H", `Authorization: Bearer ${token}`, `http://127.0.0.1:8480${path}`], true).out;
}

/** gateway is the box's one gateway line of `unibus status --json`. */
async function gateway(box: Box): Promise<{ status: Awaited<ReturnType<Fleet["status"]>>; link?: { remote: string; up: boolean; since?: string; via: string; dials: boolean } }> {
  const status = await fleet.status(box);
  return { status, link: status.json?.gateways?.[0] };
}

beforeAll(async () => {
  if (!ready) return;
  fleet.up();
  a = fleet.addBox("a-1", 1);
  b = fleet.addBox("b-1", 2);
  site.set(a, "site-a").set(b, "site-b");
  // Site A makes the CA; site B reuses it, so each site's node trusts the other's certificate.
  const genA = join(dir.path, "gen-a");
  const genB = join(dir.path, "gen-b");
  const made = await runUnibus(["init", "cluster", "--name", "site-a", "--node", `a-1=${a.ip}`, "--out", genA]);
  if (made.code !== 0) throw new Error(`init cluster failed: ${made.stderr}`);
  const reused = await runUnibus(["init", "cluster", "--name", "site-b", "--node", `b-1=${b.ip}`, "--out", genB, "--ca", join(genA, "certs")]);
  if (reused.code !== 0) throw new Error(`init cluster --ca failed: ${reused.stderr}`);
  const secret = randomSecret();
  for (const [box, gen, other] of [[a, genA, b], [b, genB, a]] as const) {
    cpSync(join(gen, "certs"), join(box.dir, "certs"), { recursive: true });
    writeSecret(join(box.dir, "gateway.secret"), secret);
    box.config = join(box.dir, "unibus.toml");
    // A one-box site: no [cluster] (clustered JetStream needs two servers); the site is its own JetStream.
    writeFileSync(box.config, [
      `[node]\nname = "${box.name}"`,
      `[tls]\nca_cert = "certs/ca.pem"\nca_key = "certs/ca-key.pem"\nsans = ["${box.ip}"]`,
      `[gateway]\nsite = "${site.get(box)}"\nlisten = "0.0.0.0:7222"\nsecret_file = "gateway.secret"`,
      `[[gateway.remotes]]\nname = "${site.get(other)}"\nurls = ["${other.ip}:7222"]`,
    ].join("\n\n") + "\n");
    const checked = await runUnibus(["config", "check", "--config", box.config]);
    if (checked.code !== 0) throw new Error(`config check of ${box.name} failed: ${checked.stderr}`);
    fleet.start(box);
  }
  await waitFor("both sites healthy with their gateway connected", async () => {
    const views = await Promise.all([a, b].map(gateway));
    return views.every((v) => v.status.code === 0 && v.link?.up);
  }, 120_000, 1_000).catch((err) => {
    for (const box of [a, b]) console.log(box.name, box.log.split("\n").filter((l) => /level=(warn|error)/.test(l)).slice(-8).join("\n"));
    throw err;
  });
}, 240_000);

afterAll(async () => {
  if (ready) await fleet.destroy();
  dir[Symbol.dispose]();
}, 120_000);

describe.if(ready)("two independent sites through a WAN cut (network namespaces)", () => {
  test("each site runs its own JetStream domain; site-a dials, and reaches site-b's JetStream across the link", async () => {
    const rendered = JSON.parse(readFileSync(join(a.dir, "data", "nats-server.conf"), "utf8").replace(/^[^\n]*\n/, ""));
    expect(rendered.jetstream.domain).toBe("site-a");
    expect(rendered.gateway).toBeUndefined();
    expect(rendered.leafnodes.remotes[0].urls[0]).toBe(`nats-leaf://unibus-gateway:${encodeURIComponent(readFileSync(join(a.dir, "gateway.secret"), "utf8").trim())}@${b.ip}:7222`);
    const [ga, gb] = await Promise.all([gateway(a), gateway(b)]);
    expect(ga.link).toMatchObject({ remote: "site-b", up: true, via: "leaf", dials: true });
    expect(gb.link).toMatchObject({ remote: "site-a", up: true, via: "leaf", dials: false });
    expect(ga.status.json.site).toBe("site-a");
    expect(write(a, "a0")).toMatchObject({ stream: "S_a0", acked: 5, domain: "site-a" });
    // site-a's client makes a stream in site-b's JetStream and publishes into it: requests and acks cross the link.
    expect(write(a, "ab0", "site-b")).toMatchObject({ stream: "S_ab0", acked: 5, domain: "site-b" });
  }, 60_000);

  test("with the link cut, both sites make streams and KV buckets and ack publishes; status, page and /metrics say the gateway is down", async () => {
    const cutAt = Date.now();
    fleet.link(b, "down");
    // The gateway's keep-alive (a ping every 5 s, two unanswered) notices the cut within about 15 s.
    await waitFor("both sites to see their gateway down", async () => (await Promise.all([a, b].map(gateway))).every((v) => v.link && !v.link.up), 60_000, 1_000);
    const noticedS = (Date.now() - cutAt) / 1000;
    console.log(`gateway cut noticed on both sites after ${noticedS.toFixed(1)} s`);
    expect(noticedS).toBeLessThan(45);
    for (const box of [a, b]) {
      const tag = `${box.name.replace("-", "")}cut`;
      expect(write(box, tag)).toMatchObject({ stream: `S_${tag}`, acked: 5, kvRevision: 1, domain: site.get(box) });
    }
    // The other site's JetStream is out of reach while cut, and said so (not hung).
    expect(write(a, "abcut", "site-b").error).toBeTruthy();
    for (const box of [a, b]) {
      const { status, link } = await gateway(box);
      expect(status.code).toBe(3);
      expect(status.json.verdict).toBe("degraded");
      const problem = status.json.problems.find((p: { kind: string }) => p.kind === "gateway_down");
      expect(problem?.severity).toBe("degraded");
      expect(problem?.cause).toContain(`keeps its own JetStream`);
      expect(link?.since).toBeTruthy();
      const text = await fleet.status(box, false);
      if (box === a) console.log(`site-a's status during the cut:\n${text.text}`);
      expect(text.text).toMatch(new RegExp(`gateway\\s+${box === a ? "site-b" : "site-a"} DOWN since `));
      const metrics = admin(box, "/metrics");
      expect(gauge(metrics, "unibus_gateway_up", { remote: box === a ? "site-b" : "site-a", via: "leaf" })).toBe(0);
      expect(gauge(metrics, "unibus_problems", { kind: "gateway_down" })).toBe(1);
      const page = admin(box, "/?part=dash");
      expect(page).toContain(`data-gateway="${box === a ? "site-b" : "site-a"}" data-state="down"`);
    }
  }, 120_000);

  test("after the cable is back the gateway reconnects, both sites are healthy and reach each other's JetStream again", async () => {
    fleet.link(b, "up");
    await waitFor("both sites healthy with their gateway connected again", async () => {
      const views = await Promise.all([a, b].map(gateway));
      return views.every((v) => v.status.code === 0 && v.link?.up);
    }, 90_000, 1_000);
    expect(write(b, "ba1", "site-a")).toMatchObject({ stream: "S_ba1", acked: 5, domain: "site-a" });
    expect(write(a, "ab1", "site-b")).toMatchObject({ stream: "S_ab1", acked: 5, domain: "site-b" });
    const metrics = admin(a, "/metrics");
    expect(gauge(metrics, "unibus_gateway_up", { remote: "site-b", via: "leaf" })).toBe(1);
    expect(gauge(metrics, "unibus_gateway_since_timestamp_seconds", { remote: "site-b" })).toBeGreaterThan(0);
    expect((await fleet.status(a, false)).text).toMatch(/gateway\s+site-b connected since .*this site dials/);
    // Nothing a site wrote alone was lost: each still has the stream and bucket it made during the cut.
    for (const box of [a, b]) {
      const tag = `${box.name.replace("-", "")}cut`;
      const jsz = await fleet.curlJson<{ account_details?: { stream_detail?: { name: string; state: { messages: number } }[] }[] }>(box, "http://127.0.0.1:8222/jsz?accounts=true&streams=true");
      const streams = new Map((jsz?.account_details ?? []).flatMap((acc) => acc.stream_detail ?? []).map((s) => [s.name, s.state.messages]));
      expect(streams.get(`S_${tag}`)).toBe(5);
      expect(streams.get(`KV_kv_${tag}`)).toBe(1);
    }
  }, 120_000);
});
