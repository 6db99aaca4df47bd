/**
 * Health judged for the whole cluster, from any node, on three boxes built
 * as README says (cw-1 by init cluster, the others by join): a member that
 * restarts behind a slow link (tc tbf on its veth) and catches up a 24 MB
 * stream is named by `unibus status` on the OTHER members, which exit 0
 * only once its replica is current (the gate a rolling upgrade waits for);
 * a member at its JetStream storage limit is named on every member. Wall
 * time about 2-3 minutes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, readFileSync } from "node:fs";
import { Lab, growCluster, sh, type Box } from "./membership-fixtures.ts";
import { IN_CI, binaryExists, BIN_X64, prerequisite, tempDir, waitFor } from "./_helpers.ts";

const dir = tempDir("unibus-whole-cluster-");
const lab = new Lab(dir.path, ["cw-1", "cw-2", "cw-3"]);
const ready = Lab.available("the whole-cluster health test") && prerequisite(binaryExists(BIN_X64), "dist/unibus-linux-x64 (npx bun scripts/build.ts)")
  && prerequisite(sh(["tc", "-V"], true).code === 0, "tc (iproute2) to slow a link");
let caFile = "";
const [one, two, three] = lab.boxes as [Box, Box, Box];
const kinds = (s: any) => (s?.problems ?? []).map((p: any) => `${p.kind}:${p.node}`);

beforeAll(async () => {
  if (!ready) return;
  lab.create();
  // cw-3's JetStream may store 40 MiB: the second part fills it.
  ({ caFile } = await growCluster(lab, dir.path, "wholelab", [], (b) => {
    if (b === three) appendFileSync(b.config, '\n[jetstream]\nmax_file = "40MiB"\n');
  }));
  await lab.client(one, caFile, "setup", "BIG");
}, 240_000);

afterAll(async () => {
  await lab.destroy();
  dir[Symbol.dispose]();
});

describe("a member catching up behind a slow link", () => {
  test.skipIf(!ready)("is named on the other members, which exit 0 only once its replica is current", async () => {
    await lab.stop(three);
    const filled = await lab.client(one, caFile, "bulk", "BIG", "1200", "20000");
    expect(filled.acked).toBe(1200);
    // About 24 MB to catch up at 16 Mbit/s: some 12 s behind, several status rounds on both members.
    sh(["tc", "qdisc", "add", "dev", three.hostVeth, "root", "tbf", "rate", "16mbit", "burst", "64kb", "latency", "500ms"]);
    const t0 = Date.now();
    lab.start(three);
    const seen: { at: number; code: number; kinds: string[]; on: string }[] = [];
    let named = 0;
    try {
      await waitFor("cw-1 and cw-2 exit 0 again", async () => {
        const [a, b] = await Promise.all([lab.status(one), lab.status(two)]);
        for (const [box, s] of [[one, a], [two, b]] as const) seen.push({ at: Date.now() - t0, code: s.code, kinds: kinds(s.status), on: box.name });
        if ([a, b].every((s) => kinds(s.status).some((k: string) => /^(replica_catching_up|replica_not_current|member_unhealthy):cw-3$/.test(k)))) named++;
        return a.code === 0 && b.code === 0;
      }, 180_000, 1_000);
    } finally {
      sh(["tc", "qdisc", "del", "dev", three.hostVeth, "root"], true);
    }
    console.log(`catch-up seen from cw-1 and cw-2 (ms since cw-3 started, exit, problems):\n${seen.map((s) => `  ${s.at} ${s.on} ${s.code} ${s.kinds.join(" ")}`).join("\n")}`);
    expect(named).toBeGreaterThan(0);
    expect(seen.some((s) => s.kinds.includes("replica_catching_up:cw-3"))).toBe(true);
    // Exit 0 is the gate: once both say healthy, cw-3's replica is current in the leader's own view.
    // nats marks a follower current when its last acknowledged index reaches the leader's applied one; the
    // tc qdisc removed just above may drop one acknowledgement, so the leader's view is read a few times
    // (the CI run at 2d30ded read it once and caught that moment).
    let info: any;
    await waitFor("the leader reports cw-3's replica current", async () => {
      info = await lab.client(one, caFile, "info", "BIG");
      return info.replicas.every((r: { current: boolean }) => r.current);
    }, 10_000, 1_000);
    expect(info.messages).toBe(1200);
    expect(info.replicas.every((r: { current: boolean }) => r.current)).toBe(true);
  }, 240_000);
});

describe("a member at its JetStream storage limit", () => {
  test.skipIf(!ready)("is named on every member with the key to raise and the room to make", async () => {
    // 24 MB stored; 20 MB more takes cw-3 past its 40 MiB while cw-1 and cw-2 keep the quorum.
    await lab.client(one, caFile, "bulk", "BIG", "1000", "20000");
    await waitFor("every member names cw-3's storage", async () => {
      const all = await Promise.all(lab.boxes.map((b) => lab.status(b)));
      return all.every((s) => s.code !== 0 && kinds(s.status).includes("jetstream_storage_full:cw-3"));
    }, 90_000, 1_000);
    const s = (await lab.status(two)).status;
    const p = s.problems.find((x: any) => x.kind === "jetstream_storage_full");
    expect(p.cause).toMatch(/cw-3's JetStream storage is (at|near) its limit/);
    expect(p.fix).toContain("jetstream.max_file");
    expect(s.clusterHealth.verdicts.map((v: any) => v.node).sort()).toEqual(["cw-1", "cw-2", "cw-3"]);
    if (IN_CI) expect(readFileSync(three.config, "utf8")).toContain("40MiB");
  }, 150_000);
});
