/**
 * A CA rotation on a hub reaches its enrolled edges (network namespaces, a
 * one-node hub from `unibus init cluster`, two edges enrolled by the join
 * line). edge-1 is up through the rotation: it learns the new CA at its
 * check-ins (the rotation waits for it), renews its certificate from the new
 * CA, and its uplink comes back after a hub restart, when the hub presents
 * a certificate only the new CA vouches for; the rotation waits for it and
 * not for edge-2, which the hub's fleet view shows down. edge-2 is down through the
 * rotation: the hub's status names it, `ca rotate --finish` refuses while it
 * holds an old-CA certificate, and once started it takes the endorsed new CA
 * over the unverified hello, its uplink connects and the rotation finishes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN_X64, prerequisite, runUnibus, tempDir, waitFor } from "./_helpers.ts";
import { Fleet, netnsAvailable, sh, type Box } from "./fleet-netns-fixtures.ts";
import { certFingerprint, parseCertificates } from "../lib/pki/trust.ts";

const dir = tempDir("unibus-edge-rotate-");
const fleet = new Fleet(dir.path);
const ready = prerequisite(netnsAvailable(fleet.run), "ip netns (root and iproute2) and curl for the hub and its edges");
let hub: Box;
const edges: Box[] = [];
const numbers: Record<string, number> = {};

function inBox(box: Box, args: string[]): { code: number; out: string } {
  return sh(["ip", "netns", "exec", box.ns, BIN_X64, ...args], true);
}

/** onHub tells whether an edge has a leaf connection on the hub. */
async function onHub(edge: Box): Promise<boolean> {
  const l = await fleet.curlJson<{ leafs: { name: string }[] | null }>(hub, "http://127.0.0.1:8222/leafz");
  return (l?.leafs ?? []).some((x) => x.name === edge.name);
}

/** edgeRecord reads the hub's record of an edge (edges.json). */
function edgeRecord(name: string): { caFingerprint?: string } | undefined {
  const doc = JSON.parse(readFileSync(join(hub.dir, "data", "edges.json"), "utf8")) as { edges: { name: string; caFingerprint?: string }[] };
  return doc.edges.find((e) => e.name === name);
}

const fps = (file: string) => parseCertificates(readFileSync(file, "utf8")).map(certFingerprint);
const bundleOf = (e: Box) => join(e.dir, "data", "uplink", "ca-bundle.pem");

beforeAll(async () => {
  if (!ready) return;
  fleet.up();
  hub = fleet.addBox("hub-1", 1);
  for (let i = 1; i <= 2; i++) edges.push(fleet.addBox(`edge-${i}`, 10 + i));
  const gen = join(dir.path, "generated");
  const res = await runUnibus(["init", "cluster", "--name", "rothub", "--node", `${hub.name}=${hub.ip}`, "--out", gen]);
  if (res.code !== 0) throw new Error(`init cluster failed: ${res.stderr}`);
  cpSync(join(gen, "certs"), join(hub.dir, "certs"), { recursive: true });
  for (const f of ["cluster.secret", "join-tokens.secret"]) if (existsSync(join(gen, f))) cpSync(join(gen, f), join(hub.dir, f));
  hub.config = join(hub.dir, "hub.toml");
  writeFileSync(hub.config, `${readFileSync(join(gen, `${hub.name}.toml`), "utf8")}\n[leafnodes]\nlisten = "0.0.0.0:7422"\nenroll = true\n\n# One node: clustered JetStream would wait for a second; the rotation needs none.\n[jetstream]\nenabled = false\n`);
  fleet.start(hub);
  let last = "";
  await waitFor("the hub healthy", async () => {
    const st = await fleet.status(hub, false);
    last = st.text;
    return st.code === 0;
  }, 90_000, 500).catch((err: Error) => {
    throw new Error(`${err.message}: ${last}\n${hub.log.slice(-3000)}`);
  });
  const made = inBox(hub, ["token", "create", "--edge", "--quiet", "--config", hub.config]);
  if (made.code !== 0) throw new Error(`token create --edge: ${made.out}`);
  const args = made.out.trim().split("\n").at(-1)!.split(" ").slice(1);
  for (const e of edges) {
    const r = inBox(e, [...args, "--name", e.name, "--out", e.dir]);
    if (r.code !== 0) throw new Error(`join --edge ${e.name}: ${r.out}`);
    e.config = join(e.dir, "unibus.toml");
    writeFileSync(e.config, `${readFileSync(e.config, "utf8")}[admin]\nenabled = false\n`);
    fleet.start(e);
  }
  await waitFor("both edges on the hub", async () => (await onHub(edges[0]!)) && (await onHub(edges[1]!)), 90_000, 500);
  // Both have checked in once (at their start): the hub has heard what each trusts.
  await waitFor("both edges' first check-in", () => edges.every((e) => readFileSync(join(e.dir, "data", "uplink", "hub.json"), "utf8").includes("lastCheckin")), 30_000, 250);
}, 240_000);

afterAll(async () => {
  if (ready) await fleet.destroy();
  console.log(`edge CA rotation numbers (netns): ${JSON.stringify(numbers)}`);
  dir[Symbol.dispose]();
}, 120_000);

describe.if(ready)("a hub's CA rotation reaches its enrolled edges (network namespaces)", () => {
  test("an edge that is up takes the new CA, renews from it, and its uplink comes back after the hub restarts with a new-CA certificate", async () => {
    const [edge1, edge2] = edges as [Box, Box];
    const oldFp = fps(join(hub.dir, "certs", "ca.pem"))[0]!;
    await fleet.stop(edge2);
    // The hub's fleet view sees edge-2 gone (every 5 s): a rotation does not wait for an edge that is down.
    await waitFor("the hub to name edge-2 missing", async () => (await fleet.status(hub, false)).text.includes("missing edges edge-2"), 30_000, 500);
    const t0 = Date.now();
    const r = inBox(hub, ["ca", "rotate", "--config", hub.config]);
    expect(r.out).toContain("CA rotation started");
    expect(r.out).toContain("Enrolled edges learn it at their check-ins");
    expect(r.code).toBe(0);
    const newFp = fps(join(hub.dir, "certs", "ca-next.pem"))[0]!;
    // What the rotation waits for, as the CA holder records it: edge-1 (up), never edge-2 (down).
    const waited = new Set<string>();
    const watch = setInterval(() => {
      try {
        for (const w of (JSON.parse(readFileSync(join(hub.dir, "data", "ca-rotation.json"), "utf8")) as { waitingFor: string[] }).waitingFor) waited.add(w);
      } catch { /* not written yet */ }
    }, 200);
    await waitFor("edge-1 to trust both CAs", () => existsSync(bundleOf(edge1)) && fps(bundleOf(edge1)).includes(newFp), 60_000, 500);
    numbers.edgeTrustsMs = Date.now() - t0;
    expect(fps(bundleOf(edge1))).toContain(oldFp);
    await waitFor("edge-1 to hold a certificate from the new CA (the hub's record)", () => edgeRecord("edge-1")?.caFingerprint === newFp, 90_000, 1_000);
    numbers.edgeRenewedMs = Date.now() - t0;
    clearInterval(watch);
    expect([...waited]).toEqual(["edge-1 (edge)"]);
    // The hub records the certificate when it issues it, a moment before edge-1 writes it and logs; its log reaches us through a pipe.
    await waitFor("edge-1 to log its renewal from the new CA", () => edge1.log.includes("renewed this edge's certificate from the new CA"), 30_000, 250);
    // The hub's own certificate is from the new CA now; a restart makes the uplink verify it anew.
    await waitFor("the hub to present a new-CA certificate", () =>
      new X509Certificate(readFileSync(join(hub.dir, "data", "tls", "node.pem"))).checkIssued(new X509Certificate(readFileSync(join(hub.dir, "certs", "ca-next.pem")))), 60_000, 1_000);
    await fleet.stop(hub);
    fleet.start(hub);
    const t1 = Date.now();
    await waitFor("edge-1's uplink back on the restarted hub", () => onHub(edge1), 60_000, 500);
    numbers.uplinkBackAfterHubRestartMs = Date.now() - t1;
    const s = await fleet.status(edge1);
    expect(s.json?.leafs?.[0]?.up).toBe(true);
    expect(s.json?.uplinkCheckin?.lastCheckin?.with).toBe(`${hub.ip}:6223`);
    expect((await fleet.status(edge1, false)).text).toMatch(/hub check-in  last with \S+:6223 at .*; certificate renewed/);
  }, 240_000);

  test("an edge down through the rotation is named by the hub's status and holds --finish; started, it takes the new CA and its uplink connects", async () => {
    const [, edge2] = edges as [Box, Box];
    let text = "";
    await waitFor("the hub's status to name edge-2 as waiting", async () => {
      text = (await fleet.status(hub, false)).text;
      return /edges waiting edge-2 \(old CA\)/.test(text);
    }, 60_000, 1_000);
    // edge-1 renewed from the new CA: it waits for nothing.
    expect(text.split("\n").find((l) => l.includes("edges waiting"))).not.toContain("edge-1");
    const refused = inBox(hub, ["ca", "rotate", "--finish", "--config", hub.config]);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toMatch(/not finishing the CA rotation: edge edge-2 \(old CA\)/);
    const t0 = Date.now();
    fleet.start(edge2);
    await waitFor("edge-2's uplink on the hub", () => onHub(edge2), 90_000, 500);
    numbers.downEdgeBackMs = Date.now() - t0;
    await waitFor("edge-2 to log that it trusts the new CA", () => edge2.log.includes("the hub's CAs changed (CA rotation)"), 30_000, 250);
    const newFp = fps(join(hub.dir, "certs", "ca-next.pem"))[0]!;
    await waitFor("edge-2 to hold a new-CA certificate", () => edgeRecord("edge-2")?.caFingerprint === newFp, 60_000, 1_000);
    const done = inBox(hub, ["ca", "rotate", "--finish", "--config", hub.config]);
    expect(done.out).toContain("CA rotation finished");
    expect(done.code).toBe(0);
    // The edges drop the old CA at their next check-in, and stay on the hub.
    await waitFor("both edges to trust the new CA alone", () => edges.every((e) => fps(bundleOf(e)).join() === newFp), 60_000, 1_000);
    expect((await onHub(edges[0]!)) && (await onHub(edge2))).toBe(true);
  }, 240_000);
});
