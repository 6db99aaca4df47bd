/**
 * One node of a three-node cluster loses power while another is cut off,
 * first by a pause (SIGSTOP of its VM, a stalled box) and then by a network
 * partition, the schedule of Jepsen's NATS 2.12.1 tests. Per case, with
 * nodes A (the stream's leader, the one whose power is cut), B and C:
 *
 *   1. C is cut off; writes to the R3 stream are acknowledged by A and B.
 *   2. A loses power (SIGKILL of its qemu: its page cache is gone).
 *   3. B is cut off instead and C comes back; A boots on its own disk.
 *      A and C are a majority: they elect a leader and take new writes.
 *   4. B comes back and follows that leader.
 *
 * A node that acknowledged a write it had not flushed forgets it in step 2,
 * and in step 3 the only other copy is out of reach: the majority of A and C
 * goes on without it, and B drops it on rejoining. So the `sync = "2m"`
 * control cluster must lose acknowledged writes (or hold another payload at
 * their sequence), while unibus's default, `sync = "always"`, must keep every
 * one on every replica, each sequence with exactly its acknowledged payload.
 *
 * Both cases run on the same two clusters (one booted at a time) so the file
 * boots six machines, not twelve; each case has its own stream. The control
 * reads replicas until one shows the loss; the real case reads all three.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { BIN_X64 } from "./_helpers.ts";
import { buildGuestBase, makeSystemDisk, VmNet, VM_ACCEL, type Vm } from "./vm-fixtures.ts";
import { compare, connectTo, newAcked, retry, tempDir, vmPrerequisites, write, type Acked, type StoredRead, type Verdict } from "./power-loss-fixtures.ts";
import { makeVmCluster, moveLeader, readEveryReplica, streamLeader, type VmCluster } from "./power-loss-cluster-fixtures.ts";

/** WRITE_SECONDS is how long step 1 writes: all of it is unflushed when A's power goes (the kernel writes back after 30 s). */
const WRITE_SECONDS = 4;
/** AFTER_SECONDS is how long the majority of A and C takes new writes in step 3. */
const AFTER_SECONDS = 3;
const ready = vmPrerequisites();
const dir = tempDir("unibus-powerloss-one-");
let net: VmNet | undefined;
const vms: Vm[] = [];
afterAll(async () => {
  for (const vm of vms) await vm.cut();
  net?.dispose();
  dir[Symbol.dispose]();
});

/** Isolation is how a node is cut off from the others in a case: a pause of its machine, or its network. */
interface Isolation { name: string; off(vm: Vm): void; on(vm: Vm): void }

const PAUSE: Isolation = { name: "pauses", off: (vm) => vm.pause(), on: (vm) => vm.resume() };
const PARTITION: Isolation = { name: "a partition", off: (vm) => vm.net.partition(vm.spec.index), on: (vm) => vm.net.heal(vm.spec.index) };

interface CaseOutcome { how: string; sync: string; before: number; after: number; acked: number; twice: number; perReplica: Map<string, Verdict>; unreadable?: string; notReady?: string }

async function withClient<T>(cluster: VmCluster, members: Vm[], use: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connectTo(members.map((vm) => cluster.urls[cluster.vms.indexOf(vm)]!), cluster.caFile);
  try {
    return await use(nc);
  } finally {
    await nc.close();
  }
}

/** writeFor writes to the stream through the given members for seconds and returns how many new writes were acknowledged. */
async function writeFor(cluster: VmCluster, members: Vm[], stream: string, tag: string, acked: Acked, seconds: number): Promise<number> {
  const before = acked.bySeq.size;
  await withClient(cluster, members, async (nc) => {
    let stop = false;
    const writing = write(nc, `${stream.toLowerCase()}.w`, tag, acked, () => stop);
    await Bun.sleep(seconds * 1000);
    stop = true;
    await writing;
  });
  return acked.bySeq.size - before;
}

/** crashWhileIsolated runs one case (see the file's comment) on a booted cluster: a = the cut node, b and c the others. */
async function crashWhileIsolated(cluster: VmCluster, sync: string, how: Isolation, stream: string, [a, b, c]: [Vm, Vm, Vm]): Promise<CaseOutcome> {
  const t0 = performance.now();
  const say = (what: string) => console.log(`${sync} / ${how.name} +${((performance.now() - t0) / 1000).toFixed(0)} s: ${what}`);
  const acked = newAcked();
  await withClient(cluster, [a, b, c], async (nc) => {
    const jsm = await retry("reach JetStream", () => jetstreamManager(nc), 180_000);
    await retry(`create the R3 stream ${stream}`, () => jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`], num_replicas: 3 }), 120_000);
    await moveLeader(nc, stream, a.spec.name);
  });
  // What was written before the case is on disk, as the kernel's writeback would have put it there 30 s later.
  await Promise.all(cluster.vms.map((vm) => vm.run("sync")));
  how.off(c);
  say(`${c.spec.name} cut off; writing through ${a.spec.name} (leader) and ${b.spec.name}`);
  const before = await writeFor(cluster, [a, b], stream, "before", acked, WRITE_SECONDS);
  await a.cut();
  say(`${a.spec.name} lost power after ${before} acknowledged writes`);
  how.off(b);
  how.on(c);
  await a.boot();
  let notReady: string | undefined;
  await a.waitReady(300_000).catch((err: Error) => { notReady = err.message.split("\n")[0]; });
  say(`${a.spec.name} booted again${notReady ? ` but not ready (${notReady})` : ""}; ${b.spec.name} cut off, ${c.spec.name} back`);
  let after = 0;
  if (!notReady) {
    // The majority of A and C elects a leader for the stream, then takes new writes.
    await withClient(cluster, [a, c], (nc) => retry(`a leader for ${stream} among ${a.spec.name} and ${c.spec.name}`, async () => {
      const leader = await streamLeader(nc, stream);
      if (leader !== a.spec.name && leader !== c.spec.name) throw new Error(`the leader is ${leader ?? "nobody"}`);
    }, 180_000)).catch((err: Error) => say(err.message));
    after = await writeFor(cluster, [a, c], stream, "after", acked, AFTER_SECONDS);
    say(`${after} acknowledged by the majority of ${a.spec.name} and ${c.spec.name}`);
  }
  how.on(b);
  const perReplica = new Map<string, Verdict>();
  let unreadable: string | undefined;
  await withClient(cluster, [a, b, c], async (nc) => {
    try {
      // The control stops at the first replica that lost or changed an acknowledged write: that is its proof.
      const proves = sync === "always" ? undefined : (read: StoredRead) => { const v = compare(acked, read); return v.lost + v.wrong > 0; };
      const reads = await readEveryReplica(nc, stream, [a, b, c].map((vm) => vm.spec.name), 180_000, proves);
      for (const [name, read] of reads) perReplica.set(name, compare(acked, read));
    } catch (err) {
      unreadable = (err as Error).message;
    }
  });
  say(`${b.spec.name} back; read every replica`);
  return { how: how.name, sync, before, after, acked: acked.bySeq.size, twice: acked.clashes.length, perReplica, unreadable, notReady };
}

/** bothCases boots a cluster with the given sync, runs the pause case and the partition case on it (different nodes cut), and stops it. */
async function bothCases(sync: string, indexes: number[], prefix: string, base: Uint8Array, system: string): Promise<CaseOutcome[]> {
  const cluster = await makeVmCluster({ dir: dir.path, net: net!, base, system, indexes, prefix, sync, memMiB: 384 });
  vms.push(...cluster.vms);
  const [n1, n2, n3] = cluster.vms as [Vm, Vm, Vm];
  try {
    await Promise.all(cluster.vms.map((vm) => vm.boot()));
    await Promise.all(cluster.vms.map((vm) => vm.waitReady()));
    return [
      await crashWhileIsolated(cluster, sync, PAUSE, "PLP", [n1, n2, n3]),
      await crashWhileIsolated(cluster, sync, PARTITION, "PLN", [n2, n3, n1]),
    ];
  } finally {
    for (const vm of cluster.vms) {
      vm.resume();
      try { vm.net.heal(vm.spec.index); } catch { /* already on the bridge */ }
    }
    await Promise.all(cluster.vms.map((vm) => vm.cut()));
  }
}

describe.if(ready)(`power cut of one node while another is cut off (qemu ${VM_ACCEL})`, () => {
  test('one node\'s crash with pauses and with a partition: sync = "always" loses no acknowledged write on any replica; the "2m" control does', async () => {
    const started = performance.now();
    net = new VmNet();
    const base = await buildGuestBase();
    const system = join(dir.path, "system.img");
    makeSystemDisk(system, BIN_X64, join(dir.path, "system"));
    const always = await bothCases("always", [1, 2, 3], "oa", base, system);
    const control = await bothCases("2m", [4, 5, 6], "oc", base, system);
    const lostOf = (o: CaseOutcome) => (o.unreadable ? o.acked : Math.max(0, ...[...o.perReplica.values()].map((v) => v.lost + v.wrong)));
    for (const o of [...always, ...control]) {
      const replicas = [...o.perReplica].map(([name, v]) => `${name}: ${v.lost} lost, ${v.wrong} wrong`).join("; ");
      console.log(`one node's crash with ${o.how}, sync = "${o.sync}": ${o.acked} acknowledged (${o.before} before the cut, ${o.after} after; ${o.twice} sequences acknowledged for two payloads); ${replicas || `unreadable (${o.unreadable})`}` +
        (o.notReady ? `; the cut node was not ready after its reboot (${o.notReady})` : ""));
    }
    console.log(`power-loss one node's crash: ${((performance.now() - started) / 1000).toFixed(0)} s`);
    for (const o of control) {
      expect(o.before, `${o.how}: the control acknowledged writes before the cut`).toBeGreaterThan(0);
      expect(lostOf(o), `${o.how}: the "2m" control must lose acknowledged writes, or the fault proves nothing`).toBeGreaterThan(0);
    }
    for (const o of always) {
      expect(o.before, o.how).toBeGreaterThan(10);
      expect(o.after, `${o.how}: the majority took writes after the cut`).toBeGreaterThan(0);
      expect(o.notReady, o.how).toBeUndefined();
      expect(o.unreadable, o.how).toBeUndefined();
      expect(o.perReplica.size, o.how).toBe(3);
      for (const [name, v] of o.perReplica) {
        expect(v.lost, `${o.how}, ${name}: ${v.sample.join("; ")}`).toBe(0);
        expect(v.wrong, `${o.how}, ${name}: ${v.sample.join("; ")}`).toBe(0);
      }
    }
  }, 1_800_000);
});
