/**
 * All three nodes of a cluster lose power at once (one power strip) in the
 * middle of acknowledged writes to an R3 stream, boot again on their own
 * disks, and every replica still holds every acknowledged write with the
 * payload acknowledged for it. The nodes run in VMs whose qemu is killed with
 * SIGKILL, so each guest loses what it had not flushed (tests/vm-fixtures.ts).
 * A control cluster with `sync = "2m"` (nats-server's default) is cut the
 * same way beside it and must lose acknowledged writes, proving the fault.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { BIN_X64 } from "./_helpers.ts";
import { buildGuestBase, makeSystemDisk, VmNet, VM_ACCEL, type Vm } from "./vm-fixtures.ts";
import { UNRECOVERABLE, compare, connectTo, newAcked, retry, tempDir, vmPrerequisites, write, type Verdict } from "./power-loss-fixtures.ts";
import { makeVmCluster, readEveryReplica } from "./power-loss-cluster-fixtures.ts";

const WRITE_SECONDS = 6;
const ready = vmPrerequisites();
const dir = tempDir("unibus-powerloss-all-");
let net: VmNet | undefined;
const vms: Vm[] = [];
afterAll(async () => {
  for (const vm of vms) await vm.cut();
  net?.dispose();
  dir[Symbol.dispose]();
});

interface Outcome { sync: string; acked: number; perReplica: Map<string, Verdict>; notReady: string[]; unreadable?: string }

async function cutAllAtOnce(sync: string, indexes: number[], prefix: string, base: Uint8Array, system: string): Promise<Outcome> {
  const cluster = await makeVmCluster({ dir: dir.path, net: net!, base, system, indexes, prefix, sync, memMiB: 384 });
  vms.push(...cluster.vms);
  const t0 = performance.now();
  const say = (what: string) => console.log(`${prefix} (${sync}) +${((performance.now() - t0) / 1000).toFixed(0)} s: ${what}`);
  await Promise.all(cluster.vms.map((vm) => vm.boot()));
  await Promise.all(cluster.vms.map((vm) => vm.waitReady()));
  say("three nodes ready");
  const nc = await connectTo(cluster.urls, cluster.caFile);
  try {
    // Right after the nodes are ready the meta group may still be electing: "JetStream system temporarily unavailable".
    const jsm = await retry("reach JetStream", () => jetstreamManager(nc), 180_000);
    await retry("create the R3 stream", () => jsm.streams.add({ name: "PL", subjects: ["pl.>"], num_replicas: 3 }), 120_000);
    const acked = newAcked();
    let cut = false;
    const writing = write(nc, "pl.w", "before", acked, () => cut);
    await Bun.sleep(WRITE_SECONDS * 1000);
    await Promise.all(cluster.vms.map((vm) => vm.cut())); // one power strip
    cut = true;
    await writing;
    say(`all three cut after ${acked.bySeq.size} acknowledged writes`);
    await Promise.all(cluster.vms.map((vm) => vm.boot()));
    const notReady: string[] = [];
    await Promise.all(cluster.vms.map(async (vm) => {
      try {
        await vm.waitReady(300_000, UNRECOVERABLE);
      } catch (err) {
        notReady.push(`${vm.spec.name}: ${(err as Error).message}`);
      }
    }));
    say(`booted again; not ready: ${notReady.map((n) => n.split(":")[0]).join(", ") || "none"}`);
    const perReplica = new Map<string, Verdict>();
    let unreadable: string | undefined;
    try {
      const reads = await readEveryReplica(nc, "PL", cluster.vms.map((vm) => vm.spec.name), notReady.length ? 30_000 : 180_000);
      for (const [name, read] of reads) perReplica.set(name, compare(acked, read));
    } catch (err) {
      unreadable = (err as Error).message;
    }
    say("read every replica");
    return { sync, acked: acked.bySeq.size, perReplica, notReady, unreadable };
  } finally {
    await nc.close();
    // Done with them: their disks are thrown away, so no clean shutdown.
    await Promise.all(cluster.vms.map((vm) => vm.cut()));
  }
}

describe.if(ready)(`power cut of a whole cluster (qemu ${VM_ACCEL}, SIGKILL of all three)`, () => {
  test('all three at once: sync = "always" loses no acknowledged write on any replica; the "2m" control does', async () => {
    const started = performance.now();
    net = new VmNet();
    const base = await buildGuestBase();
    const system = join(dir.path, "system.img");
    makeSystemDisk(system, BIN_X64, join(dir.path, "system"));
    // One cluster at a time: six emulated machines at once starved each other on a busy two-core host.
    const always = await cutAllAtOnce("always", [1, 2, 3], "pa", base, system);
    const control = await cutAllAtOnce("2m", [4, 5, 6], "pc", base, system);
    for (const o of [always, control]) {
      const replicas = [...o.perReplica].map(([name, v]) => `${name}: ${v.lost} lost, ${v.wrong} wrong`).join("; ");
      console.log(`all three cut, sync = "${o.sync}": ${o.acked} acknowledged; ${replicas || `unreadable (${o.unreadable})`}; not ready after the reboot: ${o.notReady.map((n) => n.split(":")[0]).join(", ") || "none"}`);
    }
    console.log(`power-loss all at once: ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const lostOf = (o: Outcome) => (o.unreadable ? o.acked : Math.max(0, ...[...o.perReplica.values()].map((v) => v.lost + v.wrong)));
    expect(control.acked).toBeGreaterThan(0);
    expect(lostOf(control)).toBeGreaterThan(0);
    expect(always.acked).toBeGreaterThan(10);
    expect(always.notReady).toEqual([]);
    expect(always.unreadable).toBeUndefined();
    expect(always.perReplica.size).toBe(3);
    for (const [name, v] of always.perReplica) {
      expect(v.lost, `${name}: ${v.sample.join("; ")}`).toBe(0);
      expect(v.wrong, `${name}: ${v.sample.join("; ")}`).toBe(0);
    }
  }, 1_500_000);
});
