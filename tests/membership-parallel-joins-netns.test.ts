/**
 * Four boxes join a one-node cluster at the same moment, each started as
 * soon as its join returns (an automation installing a lab with
 * `install.sh --join` on every box at once). Joins seconds apart while the
 * meta group grew used to leave the first members stuck "not current with
 * the meta leader" at the old group size in about one run in five
 * (nats-server 2.15.1). The CA holder now admits one box at a time, each
 * once the meta group holds the one before it, so all five form one meta
 * group and every status is healthy; the CA holder's log shows the joins
 * that waited.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { tempDir, waitFor } from "./_helpers.ts";
import { Lab, startCaHolder } from "./membership-fixtures.ts";

const ready = Lab.available("the parallel joins test");
const dir = tempDir("unibus-pjoin-");
const lab = new Lab(dir.path, ["a", "b", "c", "d", "e"]);

beforeAll(() => {
  if (ready) lab.create();
});

afterAll(async () => {
  await lab.destroy();
  dir[Symbol.dispose]();
});

describe.if(ready)("boxes joining at once", () => {
  test("four joins at the same moment: one meta group of five, every status healthy, the joins admitted one at a time", async () => {
    const t0 = performance.now();
    const { address, token } = await startCaHolder(lab, dir.path, "pjoin");
    const a = lab.box("a");
    const joins = await Promise.all(lab.boxes.slice(1).map(async (b) => {
      const r = await lab.unibus(b, ["join", address, "--token", token, "--name", b.name, "--out", b.dir]);
      if (r.code === 0) lab.start(b);
      return { name: b.name, code: r.code, out: r.code ? `${r.stdout}${r.stderr}` : "" };
    }));
    expect(joins).toEqual(lab.boxes.slice(1).map((b) => ({ name: b.name, code: 0, out: "" })));
    const joinedMs = Math.round(performance.now() - t0);
    let last: { code: number; status?: any }[] = [];
    await waitFor("all five in one meta group, every status healthy", async () => {
      last = await Promise.all(lab.boxes.map((b) => lab.status(b)));
      return last.every((s) => s.code === 0 && s.status?.metaClusterSize === 5 && s.status?.metaLeader);
    }, 120_000, 500).catch((err: Error) => {
      throw new Error(`${err.message}; last: ${last.map((s, i) => `${lab.boxes[i]!.name} exit ${s.code} meta ${s.status?.metaLeader ?? "-"}/${s.status?.metaClusterSize ?? "?"}`).join("; ")}`);
    });
    const waited = a.log.split("\n").filter((l) => l.includes("join waited for the member before it") || l.includes("join waits for the member before it"));
    console.log(`parallel joins: all joined ${joinedMs} ms, one healthy meta group of 5 at ${Math.round(performance.now() - t0)} ms; CA holder:\n${waited.join("\n")}`);
    expect(waited.length).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
