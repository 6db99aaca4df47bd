/**
 * The refusals of a CA rotation, on real certificates and real TLS: a second
 * start and a finish without a rotation are refused with nothing changed; a
 * member takes a new CA only when a CA it trusts endorses it (a stranger's CA
 * or a forged endorsement is ignored); once the old CA is dropped, a
 * certificate from it fails the TLS handshake and the node check, and a
 * member still holding one learns that it must join again. The new CA signs
 * only once the members that are up trust it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import tls from "node:tls";
import { endorse, finishRotation, readClusterCa, rotationFiles, startRotation } from "../../lib/pki/ca-rotation.ts";
import { certFingerprint, parseCertificates } from "../../lib/pki/trust.ts";
import { ensureNodeIdentity, issueNodeCertificate, loadCa, type LoadedCa } from "../../lib/pki/index.ts";
import { judgeTrust } from "../../lib/membership/trust-offer.ts";
import { MemberRegistry } from "../../lib/membership/members.ts";
import { EDGE_LIVE_MS, RotationGate, TRUST_PHASE_MAX_MS } from "../../lib/membership/rotation-gate.ts";
import { pendingEdgesOf } from "../../lib/membership/rotation-view.ts";
import { certificatePem } from "../../lib/pki/_x509.ts";
import { makeCaDir } from "../pki-fixtures.ts";
import { tempDir } from "../_helpers.ts";

const dir = tempDir("unibus-ca-rotation-");
afterAll(() => dir[Symbol.dispose]());

const pem = (c: Parameters<typeof certificatePem>[0]) => certificatePem(c);

/** handshake runs a TLS server that trusts `trust` and requires a client certificate; it says whether `client` got in. */
async function handshake(trust: string, server: { cert: string; key: string }, client: { cert: string; key: string }): Promise<{ ok: boolean; error?: string }> {
  const srv = tls.createServer({ ...server, ca: trust, requestCert: true, rejectUnauthorized: true }, (s) => s.end("hello\n"));
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  try {
    return await new Promise((resolve) => {
      const c = tls.connect({ host: "127.0.0.1", port, ...client, rejectUnauthorized: false });
      let data = "";
      c.setEncoding("utf8");
      c.on("data", (d: string) => (data += d));
      c.on("error", (err) => resolve({ ok: false, error: err.message }));
      c.on("close", () => resolve(data.includes("hello") ? { ok: true } : { ok: false, error: "closed without an answer" }));
    });
  } finally {
    srv.close();
  }
}

async function nodePair(ca: LoadedCa, name: string): Promise<{ cert: string; key: string }> {
  const issued = await issueNodeCertificate(ca, { name, sans: [name, "127.0.0.1"] });
  return { cert: issued.certPem, key: issued.keyPem };
}

describe("CA rotation", async () => {
  const caDir = await makeCaDir(dir.path, "ca");
  const oldCa = await loadCa(caDir.cert, caDir.key);
  const files = rotationFiles(caDir.cert, caDir.key);

  test("finish without a rotation is refused and changes nothing", async () => {
    const before = readFileSync(caDir.cert, "utf8");
    await expect(finishRotation(caDir.cert, caDir.key)).rejects.toThrow(/no CA rotation is in progress.*unibus ca rotate/);
    expect(readFileSync(caDir.cert, "utf8")).toBe(before);
  });

  let started: Awaited<ReturnType<typeof startRotation>>;
  test("start makes the next CA, signs with it, trusts both, and a second start is refused", async () => {
    started = await startRotation(caDir.cert, caDir.key);
    expect(started.next).toBeDefined();
    expect(started.signing.certFile).toBe(files.nextCert);
    expect(started.trust.map(certFingerprint)).toEqual([certFingerprint(oldCa.cert), certFingerprint(started.next!)]);
    expect(parseCertificates(readFileSync(files.clientBundle, "utf8"))).toHaveLength(2);
    expect(statSync(files.nextKey).mode & 0o777).toBe(statSync(caDir.key).mode & 0o777);
    const nextPem = readFileSync(files.nextCert, "utf8");
    await expect(startRotation(caDir.cert, caDir.key)).rejects.toThrow(/already in progress.*--finish/);
    expect(readFileSync(files.nextCert, "utf8")).toBe(nextPem);
  });

  test("a member takes the new CA only with the old CA's endorsement", async () => {
    const next = started.next!;
    const mine = [oldCa.cert];
    const own = certFingerprint(oldCa.cert);
    const offer = { ca: pem(next), trust: [pem(oldCa.cert), pem(next)], endorsements: started.endorsements.map(pem) };
    const v = await judgeTrust(mine, own, offer);
    expect(v.kind).toBe("update");
    if (v.kind === "update") {
      expect(v.trust.map(certFingerprint)).toEqual([own, certFingerprint(next)]);
      expect(v.renew).toBe(true);
    }
    // No endorsement: the new CA is not taken.
    expect((await judgeTrust(mine, own, { ...offer, endorsements: [] })).kind).toBe("same");
    // An endorsement by a stranger's CA (a look-alike of the new CA signed by a CA nobody trusts) is ignored.
    const stranger = await loadCa((await makeCaDir(dir.path, "stranger")).cert, join(dir.path, "stranger", "ca-key.pem"));
    const forged = await endorse(stranger, next);
    expect((await judgeTrust(mine, own, { ...offer, endorsements: [pem(forged)] })).kind).toBe("same");
    // A stranger's CA offered alone changes nothing.
    expect((await judgeTrust(mine, own, { ca: pem(stranger.cert), trust: [pem(stranger.cert)], endorsements: [] })).kind).toBe("same");
  });

  test("finish makes the new CA the only one; the old key is gone and a second finish is refused", async () => {
    const nextFp = certFingerprint(started.next!);
    const done = await finishRotation(caDir.cert, caDir.key);
    expect(certFingerprint(done.current)).toBe(nextFp);
    expect(done.next).toBeUndefined();
    expect(done.trust.map(certFingerprint)).toEqual([nextFp]);
    for (const f of [files.nextCert, files.nextKey, files.nextEndorsed]) expect(existsSync(f)).toBe(false);
    expect(existsSync(files.endorsed)).toBe(true);
    expect((await loadCa(caDir.cert, caDir.key)).cert.subject).toBe(started.next!.subject);
    expect(parseCertificates(readFileSync(files.clientBundle, "utf8")).map(certFingerprint)).toEqual([nextFp]);
    await expect(finishRotation(caDir.cert, caDir.key)).rejects.toThrow(/no CA rotation is in progress/);
  });

  test("after the finish a certificate from the old CA is refused on TLS and by the node check", async () => {
    const newCa = await loadCa(caDir.cert, caDir.key);
    const trust = readFileSync(files.clientBundle, "utf8");
    const server = await nodePair(newCa, "server");
    const fresh = await nodePair(newCa, "fresh");
    const stale = await nodePair(oldCa, "stale");
    expect(await handshake(trust, server, fresh)).toEqual({ ok: true });
    const refused = await handshake(trust, server, stale);
    expect(refused.ok).toBe(false);
    // The node check of a member: a certificate from the dropped CA does not start.
    const tlsDir = join(dir.path, "member-tls");
    writeFileSync(join(dir.path, "stale.pem"), stale.cert);
    writeFileSync(join(dir.path, "stale-key.pem"), stale.key, { mode: 0o600 });
    await expect(ensureNodeIdentity({ tlsDir, caCertFile: caDir.cert, trustFile: files.clientBundle, certFile: join(dir.path, "stale.pem"), keyFile: join(dir.path, "stale-key.pem"), nodeName: "stale", extraSans: [] }))
      .rejects.toThrow(/was not issued by the CA in .*ca-bundle\.pem/);
  });

  test("a member still holding an old-CA certificate after the finish learns it must join again", async () => {
    const state = await readClusterCa(caDir.cert, caDir.key);
    const offer = { ca: pem(state.current), trust: state.trust.map(pem), endorsements: state.endorsements.map(pem) };
    const v = await judgeTrust([oldCa.cert], certFingerprint(oldCa.cert), offer);
    expect(v.kind).toBe("retired");
    // A member that was reissued in time drops the old CA.
    const both = [oldCa.cert, state.current];
    const w = await judgeTrust(both, certFingerprint(state.current), offer);
    expect(w.kind).toBe("update");
    if (w.kind === "update") expect(w.trust.map(certFingerprint)).toEqual([certFingerprint(state.current)]);
    // Not on the word of a CA holder it could not verify: an unverified offer never drops a CA.
    expect((await judgeTrust(both, certFingerprint(state.current), offer, { verified: false })).kind).toBe("same");
  });
});

test("the new CA signs only once every member that is up trusts it, or after the first phase's limit", () => {
  const registry = new MemberRegistry(join(dir.path, "gate"));
  for (const name of ["a", "b", "c"]) registry.put({ name, id: name, route: `10.0.0.1:6222`, joinedAt: "2026-01-01T00:00:00Z", updatedAt: 1 });
  const gate = new RotationGate(registry, "a");
  const t0 = 1_000_000;
  // Nobody reported yet (a CA holder just restarted): nothing to wait for.
  expect(gate.ready("new", t0, t0)).toBe(true);
  gate.report("b", ["old"], t0);
  gate.report("c", ["old"], t0);
  expect(gate.ready("new", t0, t0 + 1_000)).toBe(false);
  expect(gate.waitingFor("new", t0 + 1_000)).toEqual(["b", "c"]);
  gate.report("b", ["old", "new"], t0 + 5_000);
  expect(gate.waitingFor("new", t0 + 5_000)).toEqual(["c"]);
  // c stopped checking in: it is down, and learns the new CA when it returns.
  expect(gate.ready("new", t0, t0 + 16_000)).toBe(true);
  gate.report("c", ["old"], t0 + 20_000);
  expect(gate.ready("new", t0, t0 + 21_000)).toBe(false);
  expect(gate.ready("new", t0, t0 + TRUST_PHASE_MAX_MS)).toBe(true);
});

test("an enrolled edge that is up holds the new CA like a member, and one that is disconnected or stopped checking in does not", () => {
  const registry = new MemberRegistry(join(dir.path, "gate-edges"));
  registry.put({ name: "a", id: "a", route: "10.0.0.1:6222", joinedAt: "2026-01-01T00:00:00Z", updatedAt: 1 });
  let told = 0;
  const gate = new RotationGate(registry, "a", () => told++);
  const t0 = 2_000_000;
  gate.reportEdge("edge-1", ["old"], t0);
  gate.reportEdge("edge-2", ["old"], t0);
  expect(gate.waitingFor("new", t0 + 1_000)).toEqual(["edge-1 (edge)", "edge-2 (edge)"]);
  expect(gate.ready("new", t0, t0 + 1_000)).toBe(false);
  // The same report again (a fleet's routine check-ins) does not wake the CA authority each time.
  const before = told;
  gate.reportEdge("edge-1", ["old"], t0 + 15_000);
  expect(told).toBe(before);
  gate.reportEdge("edge-1", ["old", "new"], t0 + 30_000);
  expect(told).toBe(before + 1);
  // An edge the hub's fleet view shows disconnected is down, however recent its check-in.
  gate.edgeConnected = (name) => (name === "edge-2" ? false : undefined);
  expect(gate.waitingFor("new", t0 + 31_000)).toEqual([]);
  gate.edgeConnected = undefined;
  // edge-2 has not checked in for three of its rounds: it is down and takes the new CA when it starts.
  expect(gate.waitingFor("new", t0 + EDGE_LIVE_MS + 1)).toEqual([]);
  expect(gate.ready("new", t0, t0 + EDGE_LIVE_MS + 1)).toBe(true);
});

test("the CA rotation's status names each enrolled edge whose certificate is not from the new CA", () => {
  const edge = (name: string, caFingerprint?: string, removed = false) => ({ name, nkey: "U" + "A".repeat(55), enrolledAt: "2026-01-01T00:00:00Z", updatedAt: 1, ...(caFingerprint ? { caFingerprint } : {}), ...(removed ? { removed } : {}) });
  expect(pendingEdgesOf([edge("e1", "new"), edge("e2", "old"), edge("e3"), edge("e4", "old", true), edge("e5", "other")], "new", "old")).toEqual([
    { name: "e2", ca: "old CA" }, { name: "e3", ca: "not reported yet" }, { name: "e5", ca: "another CA" },
  ]);
});

test("a finish cut short (a power cut between its steps) is completed by running it again, whichever of the next CA's files are already gone", async () => {
  for (const gone of [[], ["nextEndorsed"], ["nextEndorsed", "nextCert"]] as const) {
    const caDir = await makeCaDir(dir.path, `cut-${gone.length}`);
    const files = rotationFiles(caDir.cert, caDir.key);
    const started = await startRotation(caDir.cert, caDir.key);
    const nextFp = certFingerprint(started.next!);
    // what the cut finish did: the new CA is in ca.pem and ca-key.pem, some of the next CA's files are removed
    writeFileSync(files.endorsed, readFileSync(files.nextEndorsed));
    writeFileSync(caDir.cert, readFileSync(files.nextCert));
    writeFileSync(caDir.key, readFileSync(files.nextKey));
    for (const g of gone) require("node:fs").unlinkSync(files[g]);
    const state = await readClusterCa(caDir.cert, caDir.key);
    if (state.next) await finishRotation(caDir.cert, caDir.key);
    const after = await readClusterCa(caDir.cert, caDir.key);
    expect({ gone, current: certFingerprint(after.current), next: after.next }).toEqual({ gone, current: nextFp, next: undefined });
    expect((await loadCa(caDir.cert, caDir.key)).cert.subject).toBe(started.next!.subject);
    expect(existsSync(files.nextCert)).toBe(false); // it alone makes a rotation "in progress"; a leftover next key is overwritten by the next start
    const again = await startRotation(caDir.cert, caDir.key); // the next rotation can start
    expect(certFingerprint(again.next!)).not.toBe(nextFp);
  }
});
