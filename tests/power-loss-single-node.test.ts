/**
 * A single node loses power in the middle of acknowledged JetStream writes,
 * boots again on the same disk and still holds every one of them. The node
 * runs in a virtual machine (tests/vm-fixtures.ts) whose qemu is killed with
 * SIGKILL: what the guest kernel had not flushed to its virtio disk is gone,
 * as in a real power cut. A control node with `sync = "2m"` (nats-server's
 * own default) runs beside it under the same cut and must lose acknowledged
 * writes, which proves the fault is real; unibus's default, `sync = "always"`,
 * must lose none, and every sequence must hold exactly the payload that was
 * acknowledged for it (also for writes made after the reboot).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BIN_X64 } from "./_helpers.ts";
import { buildGuestBase, guestFiles, makeDisk, makeSystemDisk, Vm, VmNet, VM_ACCEL } from "./vm-fixtures.ts";
import { UNRECOVERABLE, compare, goneFor, guestNodeToml, connectTo, newAcked, readAll, retry, tempDir, vmPrerequisites, write, type Verdict } from "./power-loss-fixtures.ts";
import { jetstreamManager } from "@nats-io/jetstream";

const WRITE_SECONDS = 4;
const ready = vmPrerequisites();
const dir = tempDir("unibus-powerloss-");
let net: VmNet | undefined;
const vms: Vm[] = [];
afterAll(async () => {
  for (const vm of vms) await vm.cut();
  net?.dispose();
  dir[Symbol.dispose]();
});

interface CaseResult { sync: string; verdict: Verdict; afterReboot?: Verdict; startsAfterCut: number; stored: number; notReady?: string; unreadable?: string }

/** cutMidWrite boots a node, writes with acknowledgements for WRITE_SECONDS, cuts its power mid-write, boots it again and reads every sequence back. */
async function cutMidWrite(index: number, sync: string, base: Uint8Array, system: string): Promise<CaseResult> {
  const name = `single-${sync === "always" ? "always" : "2m"}`;
  const disk = join(dir.path, `${name}.img`);
  makeDisk(disk, 1024);
  const vm = new Vm({ index, name, disk, system, dir: dir.path, base, own: guestFiles({ "etc/unibus/node.toml": guestNodeToml(name, sync) }) }, net!);
  vms.push(vm);
  const t0 = performance.now();
  const say = (what: string) => console.log(`${name} +${((performance.now() - t0) / 1000).toFixed(0)} s: ${what}`);
  await vm.boot();
  say("booted");
  await vm.waitReady();
  say("ready");
  const nc = await connectTo([`nats://${vm.ip}:4222`]);
  try {
    const jsm = await jetstreamManager(nc);
    await retry("create the stream", () => jsm.streams.add({ name: "PL", subjects: ["pl.>"], num_replicas: 1 }));
    const acked = newAcked();
    let cut = false;
    const writing = write(nc, "pl.w", "before", acked, () => cut);
    await Bun.sleep(WRITE_SECONDS * 1000);
    await vm.cut(); // power cut while writers wait for acknowledgements
    cut = true;
    await writing;
    say(`cut after ${acked.bySeq.size} acknowledged writes`);
    await vm.boot();
    say("booted again");
    let starts = 0;
    let notReady: string | undefined;
    try {
      starts = await vm.waitReady(240_000, UNRECOVERABLE);
      say("ready again");
    } catch (err) {
      // The control may never come ready: nats-server finds a stream it cannot recover.
      notReady = (err as Error).message.split("\n")[0]!;
      say(notReady);
    }
    // The control may also come ready without the stream: the cut took it whole.
    let unreadable: string | undefined;
    const read = await retry("read the stream back", () => readAll(nc, "PL"), notReady ? 10_000 : 60_000, goneFor(10_000)).catch((err: Error) => {
      unreadable = err.message;
      return { bySeq: new Map<number, string>(), first: 0, last: 0, messages: 0 };
    });
    const verdict = compare(acked, read);
    if (notReady || unreadable) return { sync, verdict, startsAfterCut: starts, stored: read.messages, notReady, unreadable };
    // Writes after the reboot must get sequences of their own, never one acknowledged before the cut.
    let more = 0;
    await write(nc, "pl.w", "after", acked, () => ++more > 40, 1);
    const afterReboot = compare(acked, await retry("read the stream again", () => readAll(nc, "PL")));
    return { sync, verdict, afterReboot, startsAfterCut: starts, stored: read.messages };
  } finally {
    await nc.close();
    await vm.cut(); // done with it: its disk is thrown away
  }
}

describe.if(ready)(`power cut of one node (qemu ${VM_ACCEL}, SIGKILL)`, () => {
  test('sync = "always" loses no acknowledged write; the "2m" control beside it does', async () => {
    const started = performance.now();
    net = new VmNet();
    const base = await buildGuestBase();
    const system = join(dir.path, "system.img");
    makeSystemDisk(system, BIN_X64, join(dir.path, "system"));
    const [always, control] = await Promise.all([cutMidWrite(1, "always", base, system), cutMidWrite(2, "2m", base, system)]);
    for (const r of [always, control]) {
      console.log(`single node, sync = "${r.sync}": ${r.verdict.acked} acknowledged before the cut, ${r.verdict.lost} lost, ${r.verdict.wrong} with another payload; ` +
        `${r.stored} stored after the reboot; ` +
        (r.notReady ? `not ready after the reboot (${r.notReady})` : r.unreadable ? `the stream could not be read after the reboot (${r.unreadable})` : `after 40 more writes: ${r.afterReboot!.lost} lost, ${r.afterReboot!.wrong} wrong; unibus started ${r.startsAfterCut} time(s) after the cut`) +
        (r.verdict.sample.length ? ` (e.g. ${r.verdict.sample.slice(0, 3).join("; ")})` : ""));
    }
    console.log(`power-loss single node: ${((performance.now() - started) / 1000).toFixed(0)} s`);
    // The control proves the cut really drops what was not flushed.
    expect(control.verdict.acked).toBeGreaterThan(0);
    expect(control.verdict.lost + (control.afterReboot?.wrong ?? 0)).toBeGreaterThan(0);
    // unibus's default keeps every acknowledged write, each sequence with its own payload.
    expect(always.verdict.acked).toBeGreaterThan(50);
    expect(always.verdict.lost, always.verdict.sample.join("; ")).toBe(0);
    expect(always.verdict.wrong, always.verdict.sample.join("; ")).toBe(0);
    expect(always.notReady).toBeUndefined();
    expect(always.unreadable).toBeUndefined();
    expect(always.afterReboot!.lost + always.afterReboot!.wrong, always.afterReboot!.sample.join("; ")).toBe(0);
    // The box came back unattended on its first start.
    expect(always.startsAfterCut).toBe(1);
  }, 900_000);
});
