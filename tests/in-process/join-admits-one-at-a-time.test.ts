/**
 * The CA holder's join service admits one box at a time, each once the
 * JetStream meta group holds the box admitted before it: joins seconds apart
 * while the meta group grew left members stuck "not current with the meta
 * leader" (nats-server 2.15.1). The service and the joining client run in
 * this process over the real mutually-TLS'd wire; the meta group's view is
 * given by the test, as jsz would give it, with the hold and settle times
 * shortened.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { freePort, tempDir } from "../_helpers.ts";
import { makeCaDir } from "../pki-fixtures.ts";
import { certFingerprint, certificatePem, issueNodeCertificate, loadCa } from "../../lib/pki/index.ts";
import { MemberRegistry } from "../../lib/membership/members.ts";
import { MembershipService } from "../../lib/membership/service.ts";
import { createToken } from "../../lib/membership/token-store.ts";
import { joinCluster, JoinRefused } from "../../lib/membership/join.ts";
import { Logger } from "../../lib/log.ts";
import type { JoinToken } from "../../lib/membership/token.ts";

const dir = tempDir("unibus-join-gate-");
const logs: string[] = [];
/** meta is the meta group as the CA holder's jsz shows it; the test grows it. */
const meta: { leader?: string; size: number } = { leader: "a", size: 1 };
let service: MembershipService;
let port = 0;
let token: JoinToken;
/** jetstream off: the node has no meta group (metaGroup answers undefined). */
let jetstream = true;

beforeAll(async () => {
  const ca = await makeCaDir(dir.path, "ca");
  const loaded = await loadCa(ca.cert, ca.key);
  const own = await issueNodeCertificate(loaded, { name: "a", sans: ["a", "127.0.0.1"] });
  const dataDir = join(dir.path, "data");
  mkdirSync(dataDir, { recursive: true });
  const tokensFile = join(dir.path, "join-tokens.secret");
  token = createToken(tokensFile, certFingerprint(loaded.cert), 600_000).token;
  const pem = certificatePem(loaded.cert);
  port = await freePort();
  service = new MembershipService({
    listen: { host: "127.0.0.1", port, text: `127.0.0.1:${port}` },
    cluster: "gate", selfName: "a",
    ca: async () => ({ signing: loaded, signingPem: pem, digest: certFingerprint(loaded.cert), trust: [pem], endorsements: [] }),
    tokensFile, routeSecret: () => "route-secret-0123456789", registry: new MemberRegistry(dataDir),
    material: () => ({ cert: own.certPem, key: own.keyPem, ca: pem }),
    liveNames: async () => ({ known: new Set(["a"]), connected: new Set() }),
    metaGroup: async () => (jetstream ? { ...meta } : undefined),
    joinHoldMs: 1_000, joinSettleMs: 6_000, joinLeaderlessMs: 2_000,
    lifetimeDays: 30,
    log: new Logger({ sink: (line) => logs.push(line) }),
  });
  await service.start();
});

afterAll(async () => {
  await service?.stop();
  dir[Symbol.dispose]();
});

const join_ = (name: string, progress: (l: string) => void = () => {}) => joinCluster({
  address: { host: "127.0.0.1", port, text: `127.0.0.1:${port}` }, token, name, replace: false,
  listen: { host: "0.0.0.0", port: 6222, text: "0.0.0.0:6222" }, advertiseHost: "127.0.0.1", id: `id-${name}`, sans: [],
}, progress);

test("the first join is admitted at once; the next waits, answered busy and retried, until the meta group holds the first", async () => {
  const t0 = performance.now();
  expect((await join_("b")).cluster).toBe("gate");
  expect(performance.now() - t0).toBeLessThan(2_500);
  const said: string[] = [];
  setTimeout(() => { meta.size = 2; }, 4_000); // b's nats-server joins the meta group
  const t1 = performance.now();
  expect((await join_("c", (l) => said.push(l))).cluster).toBe("gate");
  const waited = performance.now() - t1;
  expect(waited).toBeGreaterThan(3_500);
  expect(said.some((l) => l.includes('waiting for the cluster to take in the box that joined before this one: "b" joined') && l.includes("(1 of 2 members, leader a)"))).toBe(true);
  expect(logs.some((l) => /join wait(s|ed) for the member before it/.test(l) && l.includes("name=c"))).toBe(true);
}, 30_000);

test("two joins at the same moment are admitted one after the other, the second once the first is in", async () => {
  meta.size = 3;
  setTimeout(() => { meta.size = 4; }, 3_000);
  const t0 = performance.now();
  const done: { name: string; ms: number }[] = [];
  await Promise.all(["d", "e"].map(async (n) => { await join_(n); done.push({ name: n, ms: performance.now() - t0 }); }));
  const [first, second] = done;
  expect(first!.ms).toBeLessThan(2_500);
  expect(second!.ms).toBeGreaterThan(2_900);
  const held = logs.filter((l) => /join wait(s|ed) for the member before it/.test(l) && l.includes(`name=${second!.name}`));
  expect(held.some((l) => l.includes(first!.name))).toBe(true);
}, 30_000);

test("a box admitted but never started holds the next join up only for the settle time", async () => {
  // meta stays at 4 while e (admitted last) never starts: f waits out joinSettleMs (6 s here, 2 min for real).
  const t0 = performance.now();
  expect((await join_("f")).cluster).toBe("gate");
  const waited = performance.now() - t0;
  expect(waited).toBeGreaterThan(3_000);
  expect(waited).toBeLessThan(12_000);
}, 30_000);

test("a meta group without a leader (its majority lost) holds a join up only briefly: waiting cannot help, and the new box may restore the majority", async () => {
  meta.size = 6; // f is in
  expect((await join_("g")).cluster).toBe("gate");
  delete meta.leader; // g and most others are gone: no majority, no leader
  const t0 = performance.now();
  expect((await join_("h")).cluster).toBe("gate");
  const waited = performance.now() - t0;
  expect(waited).toBeGreaterThan(1_500);
  expect(waited).toBeLessThan(6_000);
  meta.leader = "a";
}, 30_000);

test("without JetStream there is no meta group to wait for: joins right after each other are admitted at once", async () => {
  jetstream = false;
  meta.size = 1; // what a meta group would say; not asked
  const t0 = performance.now();
  expect((await join_("i")).cluster).toBe("gate");
  expect((await join_("j")).cluster).toBe("gate");
  expect(performance.now() - t0).toBeLessThan(2_500);
  jetstream = true;
}, 30_000);

test("a refusal for another reason is not retried", async () => {
  await expect(join_("a")).rejects.toBeInstanceOf(JoinRefused);
});
