/**
 * Rotating the cluster's CA on a LAN of network namespaces (one CA holder, a,
 * and two joined members, b and c; real nats-server, real TLS), the way a user
 * does it: `unibus ca rotate` on a, watch `unibus status`, `unibus ca rotate
 * --finish`. A client on b publishes to an R3 stream with acknowledgements
 * through the whole rotation: no acknowledged write is lost and the longest
 * time without an acknowledgement is printed. Afterwards every node presents a
 * certificate from the new CA, a certificate from the old CA is refused on the
 * route port, status shows the new fingerprint, and join tokens made before
 * the rotation are refused. A member that is down during a rotation is
 * trusted when it returns and reissued (finish waits for it); one that
 * returns after the old CA was dropped is told to join again, and does.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { BIN_X64, ROOT, tempDir, waitFor } from "./_helpers.ts";
import { Lab, growCluster, type Box } from "./membership-fixtures.ts";
import { certFingerprint, colonFingerprint, parseCertificates } from "../lib/pki/trust.ts";

const ready = Lab.available("the CA rotation test");
const dir = tempDir("unibus-rotate-");
const lab = new Lab(dir.path, ["a", "b", "c"]);
const numbers: Record<string, number | string> = {};
const clientCa = join(dir.path, "client-ca.pem");
const oldCaDir = join(dir.path, "old-ca");
const stopFile = join(dir.path, "publisher.stop");
const outFile = join(dir.path, "publisher.json");
let publisher: Subprocess | undefined;
let oldToken = "";
let joinAddress = "";

const box = (n: string): Box => lab.box(n);
const certsOf = (b: Box, f: string) => join(b.dir, "certs", f);
const fpOf = (file: string): string => certFingerprint(parseCertificates(readFileSync(file, "utf8"))[0]!);
const membersOnA = (): Record<string, string | undefined> => {
  const doc = JSON.parse(readFileSync(join(box("a").dir, "data", "members.json"), "utf8")) as { members: { name: string; caFingerprint?: string; removed?: boolean }[] };
  return Object.fromEntries(doc.members.filter((m) => !m.removed).map((m) => [m.name, m.caFingerprint]));
};
const trustOf = (b: Box): string[] => {
  const bundle = join(b.dir, "data", "tls", "ca-bundle.pem");
  return parseCertificates(readFileSync(existsSync(bundle) ? bundle : certsOf(b, "ca.pem"), "utf8")).map(certFingerprint);
};
const rotate = (...args: string[]) => lab.unibus(box("a"), ["ca", "rotate", "--config", box("a").config, ...args]);
const publisherState = (): { done: boolean; acked: number; failures: number; reconnects: number; longestGapMs: number; longestGapAt: string; errors: string[] } | undefined => {
  try {
    return JSON.parse(readFileSync(outFile, "utf8"));
  } catch {
    return undefined;
  }
};

/** probeRoute dials a box's route port from a's namespace with a client certificate. */
async function probeRoute(target: Box, certDir: string): Promise<{ accepted: boolean; error?: string; serverCert?: string }> {
  const p = Bun.spawn(["ip", "netns", "exec", box("a").ns, process.execPath, join(ROOT, "tests", "ca-rotation-route-probe.ts"), target.ip, "6222", join(certDir, "node.pem"), join(certDir, "node-key.pem")], { stdout: "pipe", stderr: "pipe", cwd: ROOT });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (!out.trim()) throw new Error(`route probe of ${target.name} printed nothing: ${err}`);
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

/** issue makes a node certificate from the CA folder with `unibus cert issue`. */
function issue(caDir: string, name: string): string {
  const out = join(dir.path, `cert-${name}`);
  const r = Bun.spawnSync([BIN_X64, "cert", "issue", "--ca", caDir, "--name", name, "--out", out, "--no-host-sans"], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`cert issue ${name}: ${r.stderr.toString()}`);
  return out;
}

async function newJoinLine(): Promise<{ address: string; token: string }> {
  const r = await lab.unibus(box("a"), ["token", "create", "--config", box("a").config, "--quiet"]);
  const m = /^unibus join (\S+) --token (UB1-\S+)$/.exec(r.stdout.trim());
  if (!m) throw new Error(`token create: ${r.stdout}${r.stderr}`);
  return { address: m[1]!, token: m[2]! };
}

beforeAll(async () => {
  if (!ready) return;
  lab.create();
  const t0 = Date.now();
  await growCluster(lab, dir.path, "rotlab");
  numbers.formMs = Date.now() - t0;
}, 300_000);

afterAll(async () => {
  if (!existsSync(stopFile)) writeFileSync(stopFile, "");
  publisher?.kill("SIGKILL");
  await lab.destroy();
  console.log(`CA rotation numbers (netns): ${JSON.stringify(numbers)}`);
  dir[Symbol.dispose]();
});

describe.if(ready)("rotating the cluster's CA", () => {
  test("a CA rotation under a client that keeps publishing loses no acknowledged write", async () => {
    const a = box("a");
    const b = box("b");
    const setup = await lab.client(b, certsOf(a, "ca.pem"), "setup", "ROT");
    expect(setup.ok).toBe(true);
    cpSync(certsOf(a, "ca.pem"), clientCa);
    mkdirSync(oldCaDir, { recursive: true });
    cpSync(certsOf(a, "ca.pem"), join(oldCaDir, "ca.pem"));
    cpSync(certsOf(a, "ca-key.pem"), join(oldCaDir, "ca-key.pem"));
    const oldFp = fpOf(certsOf(a, "ca.pem"));
    const line = await newJoinLine();
    oldToken = line.token;
    joinAddress = line.address;

    publisher = Bun.spawn(["ip", "netns", "exec", b.ns, process.execPath, join(ROOT, "tests", "ca-rotation-publisher.ts"), clientCa, "ROT", stopFile, outFile], { stdout: "pipe", stderr: "pipe", cwd: ROOT });
    await waitFor("the publisher to get 100 acks", () => (publisherState()?.acked ?? 0) >= 100, 60_000);

    const t0 = Date.now();
    const r = await rotate();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("CA rotation started");
    expect(r.stdout).toMatch(/Revoked \d+ outstanding join tokens? \(they pin the old CA\)/);
    numbers.rotateCommandMs = Date.now() - t0;
    // What the README tells a user: hand the old+new bundle to the clients.
    cpSync(certsOf(a, "ca-bundle.pem"), clientCa);
    const newFp = fpOf(certsOf(a, "ca-next.pem"));
    expect(newFp).not.toBe(oldFp);

    const twice = await rotate();
    expect(twice.code).not.toBe(0);
    expect(twice.stderr).toMatch(/already in progress.*--finish/);
    expect(fpOf(certsOf(a, "ca-next.pem"))).toBe(newFp);

    // A token made at once (ca rotate tells the user to make new ones) pins the CA the join port
    // offers: token create waits out the first phase, in which the port still offers the old CA.
    const early = await newJoinLine();
    expect(early.token.split("-")[1]).toBe(newFp);
    expect((JSON.parse(readFileSync(join(a.dir, "data", "ca-rotation.json"), "utf8")) as { newCa: string; phase: string })).toMatchObject({ newCa: newFp, phase: "reissue" });

    // Phase 1: the members learn the new CA while the old one still signs; phase 2: the new CA signs.
    const phaseFile = join(a.dir, "data", "ca-rotation.json");
    const phases = new Set<string>();
    await waitFor("every member to hold a certificate from the new CA", () => {
      try {
        const p = JSON.parse(readFileSync(phaseFile, "utf8")) as { newCa: string; phase: string };
        if (p.newCa === newFp) phases.add(p.phase);
        if (p.newCa === newFp && p.phase === "reissue") numbers.trustPhaseMs ??= Date.now() - t0;
      } catch {
        // not written yet
      }
      return Object.values(membersOnA()).every((f) => f === newFp) && Object.keys(membersOnA()).length === 3;
    }, 90_000, 250);
    expect([...phases]).toContain("reissue");
    numbers.reissueAllMs = Date.now() - t0;
    const progress = await lab.unibus(a, ["status", "--config", a.config]);
    expect(progress.stdout).toContain("CA rotation   in progress");
    expect(progress.stdout).toContain("3 of 3 members hold a certificate from it");
    expect(progress.stdout).toContain("phase 2");
    expect(progress.stdout).toContain("sudo unibus ca rotate --finish");
    numbers.acksDuringReissue = publisherState()!.acked;

    const t1 = Date.now();
    const fin = await rotate("--finish");
    expect(fin.stderr).toBe("");
    expect(fin.code).toBe(0);
    expect(fin.stdout).toContain("CA rotation finished");
    cpSync(certsOf(a, "ca.pem"), clientCa);
    expect(fpOf(certsOf(a, "ca.pem"))).toBe(newFp);
    expect(existsSync(certsOf(a, "ca-next.pem"))).toBe(false);
    await waitFor("every node to trust the new CA alone", () => lab.boxes.every((x) => { try { const t = trustOf(x); return t.length === 1 && t[0] === newFp; } catch { return false; } }), 60_000, 250);
    numbers.finishToDroppedEverywhereMs = Date.now() - t1;
    numbers.rotationTotalMs = Date.now() - t0;

    await Bun.sleep(2_000);
    writeFileSync(stopFile, "");
    await waitFor("the publisher to stop", () => publisherState()?.done === true, 30_000);
    const out = publisherState()!;
    Object.assign(numbers, { acked: out.acked, publishFailures: out.failures, reconnects: out.reconnects, longestPublishGapMs: out.longestGapMs, longestGapAt: out.longestGapAt });
    console.log(`publisher: ${JSON.stringify(out)}`);
    // Every acknowledged write is in the stream, read through a fresh client that trusts the new CA alone.
    for (const reader of [box("a"), box("c")]) {
      const info = await lab.client(reader, certsOf(a, "ca.pem"), "info", "ROT");
      expect(info.messages).toBe(out.acked);
    }
    numbers.writesLost = 0;
    expect(out.acked).toBeGreaterThan(numbers.acksDuringReissue as number);
    expect(out.longestGapMs).toBeLessThan(10_000);
  }, 300_000);

  test("status shows the new CA's fingerprint on every node and every member's certificate from it", async () => {
    const want = colonFingerprint(fpOf(certsOf(box("a"), "ca.pem")));
    for (const b of lab.boxes) {
      await waitFor(`${b.name} healthy with the new CA`, async () => {
        const s = await lab.status(b);
        return s.code === 0 && JSON.stringify(s.status?.ca?.trusted) === JSON.stringify([want]);
      }, 60_000, 500);
    }
    const s = await lab.status(box("a"));
    expect(s.status.ca.rotation).toBeUndefined();
    expect(s.status.members.map((m: { caFingerprint?: string }) => m.caFingerprint)).toEqual([want, want, want]);
  }, 120_000);

  test("a member's own tools verify with the CA it trusts now, not the retired ca.pem beside its config", async () => {
    const b = box("b");
    const newCa = fpOf(certsOf(box("a"), "ca.pem"));
    expect(fpOf(certsOf(b, "ca.pem"))).not.toBe(newCa); // root's files under the config: the service cannot rewrite them
    const ctx = await lab.unibus(b, ["context", "--config", b.config]);
    expect(ctx.code).toBe(0);
    const doc = JSON.parse(ctx.stdout) as { url: string; ca?: string };
    expect(doc.url).toStartWith("tls://");
    expect(doc.ca).toBe(join(b.dir, "data", "tls", "ca-bundle.pem"));
    expect(parseCertificates(readFileSync(doc.ca!, "utf8")).map(certFingerprint)).toEqual([newCa]);
  }, 60_000);

  test("afterwards every node presents a new-CA certificate and a certificate from the old CA is refused on the route port", async () => {
    const a = box("a");
    const newCa = new X509Certificate(readFileSync(certsOf(a, "ca.pem")));
    const fresh = issue(join(a.dir, "certs"), "probe-new");
    const stale = issue(oldCaDir, "intruder-old");
    for (const target of lab.boxes) {
      const ok = await probeRoute(target, fresh);
      expect(ok.accepted).toBe(true);
      const served = new X509Certificate(ok.serverCert!);
      expect(served.checkIssued(newCa) && served.verify(newCa.publicKey)).toBe(true);
      const refused = await probeRoute(target, stale);
      expect(refused.accepted).toBe(false);
      expect(refused.error).toBeDefined();
    }
  }, 120_000);

  test("join tokens made before the rotation are refused and nothing is written; new ones pin the new CA", async () => {
    const out = join(dir.path, "late-joiner");
    const r = await lab.unibus(box("b"), ["join", joinAddress, "--token", oldToken, "--name", "late", "--out", out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("rotated its CA");
    expect(existsSync(join(out, "unibus.toml"))).toBe(false);
    const list = await lab.unibus(box("a"), ["token", "list", "--config", box("a").config, "--json"]);
    const id = oldToken.split("-")[2];
    expect(JSON.parse(list.stdout).find((t: { id: string }) => t.id === id)?.state).toBe("revoked");
    const fresh = await newJoinLine();
    expect(fresh.token.split("-")[1]).toBe(fpOf(certsOf(box("a"), "ca.pem")));
  }, 60_000);

  test("a member down during a rotation is still trusted when it returns and gets reissued; finish waits for it", async () => {
    const c = box("c");
    await lab.stop(c);
    const r = await rotate();
    expect(r.code).toBe(0);
    const newFp = fpOf(certsOf(box("a"), "ca-next.pem"));
    await waitFor("a and b on the new CA", () => membersOnA().a === newFp && membersOnA().b === newFp, 90_000, 250);
    const early = await rotate("--finish");
    expect(early.code).not.toBe(0);
    expect(early.stderr).toContain("c (old-CA certificate");
    expect(early.stderr).toContain("Nothing was changed");
    expect(existsSync(certsOf(box("a"), "ca-next.pem"))).toBe(true);
    const t0 = Date.now();
    lab.start(c);
    await waitFor("c back, reissued from the new CA", () => membersOnA().c === newFp, 90_000, 250);
    numbers.returningMemberReissuedMs = Date.now() - t0;
    await waitFor("the three routed again", () => lab.formed(), 60_000, 500);
    const fin = await rotate("--finish");
    expect(fin.stderr).toBe("");
    expect(fin.code).toBe(0);
  }, 300_000);

  test("a member that returns after the old CA was dropped is told to join again, and joins", async () => {
    const c = box("c");
    await lab.stop(c);
    expect((await rotate()).code).toBe(0);
    const newFp = fpOf(certsOf(box("a"), "ca-next.pem"));
    await waitFor("a and b on the new CA", () => membersOnA().a === newFp && membersOnA().b === newFp, 90_000, 250);
    const forced = await rotate("--finish", "--force");
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("Forced: c");
    lab.start(c);
    let said: { kind: string; fix: string } | undefined;
    await waitFor("c's status to say its CA was retired", async () => {
      const s = await lab.status(c);
      said = s.status?.problems?.find((p: { kind: string }) => p.kind === "certificate_from_retired_ca");
      return Boolean(said) && s.code === 4;
    }, 90_000, 500);
    expect(said!.fix).toContain("--replace --force");
    await lab.stop(c);
    const line = await newJoinLine();
    const j = await lab.unibus(c, ["join", line.address, "--token", line.token, "--name", "c", "--replace", "--force", "--out", c.dir]);
    expect(j.stderr).not.toContain("error");
    expect(j.code).toBe(0);
    lab.start(c);
    await waitFor("c a member again", async () => lab.formed() && (await lab.status(c)).code === 0, 120_000, 500);
  }, 300_000);
});
