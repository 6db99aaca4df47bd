/**
 * sd-card-sync.ts measures what `jetstream.sync = "always"` costs on an
 * SD-card stand-in: a single node in a VM (tests/vm-fixtures.ts) whose data
 * disk qemu throttles to card-like numbers, once with "always" and once with
 * "2m", both side by side, each with one publisher and with eight waiting
 * for every acknowledgement. Not part of `npm run bench` (it boots VMs):
 *
 *   bun bench/sd-card-sync.ts [--iops N] [--mbps N] [--seconds N]
 *
 * The default card: 200 write IOPS and 10 MB/s writes (an A1-class card
 * promises 500 random-write IOPS of 4 KiB on a fresh card, and cards slow down
 * as they fill; a class-10 card promises 10 MB/s sequential), reads 1500 IOPS
 * and 40 MB/s. qemu throttles requests, not flushes, so the flush latency of a
 * real card comes on top: these rates are an upper bound for a card.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { BIN_X64, tempDir } from "../tests/_helpers.ts";
import { buildGuestBase, guestFiles, makeDisk, makeSystemDisk, Vm, VmNet, VM_ACCEL } from "../tests/vm-fixtures.ts";
import { connectTo, retry } from "../tests/power-loss-fixtures.ts";

const { values } = parseArgs({ options: { iops: { type: "string", default: "200" }, mbps: { type: "string", default: "10" }, seconds: { type: "string", default: "20" }, unthrottled: { type: "boolean", default: false } } });
const seconds = Number(values.seconds);
const throttle = values.unthrottled ? "" : `,throttling.iops-write=${values.iops},throttling.bps-write=${Number(values.mbps) * 1e6},throttling.iops-read=1500,throttling.bps-read=${40e6}`;

function toml(name: string, sync: string): string {
  return `[node]\nname = "${name}"\ndata_dir = "/var/lib/unibus"\n[client]\nlisten = "0.0.0.0:4222"\nallow_anonymous = true\n[monitor]\nlisten = "127.0.0.1:8222"\n[admin]\nenabled = false\n[jetstream]\nmax_memory = "32MiB"\nmax_file = "256MiB"\nsync = "${sync}"\n[log]\nformat = "text"\n`;
}

/** rate publishes with `writers` concurrent publishers for `seconds`, each waiting for its acknowledgement, and returns acknowledged writes per second. */
async function rate(url: string, subject: string, writers: number): Promise<number> {
  const nc = await connectTo([url]);
  const js = jetstream(nc, { timeout: 10_000 });
  let acked = 0;
  const until = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: writers }, async () => {
    while (Date.now() < until) {
      await js.publish(subject, "x".repeat(128));
      acked++;
    }
  }));
  await nc.close();
  return acked / seconds;
}

using dir = tempDir("unibus-sd-sync-");
const net = new VmNet();
const vms: Vm[] = [];
try {
  const base = await buildGuestBase();
  const system = join(dir.path, "system.img");
  makeSystemDisk(system, BIN_X64, join(dir.path, "system"));
  const results = await Promise.all(["always", "2m"].map(async (sync, i) => {
    const name = `sd-${sync === "always" ? "always" : "2m"}`;
    const disk = join(dir.path, `${name}.img`);
    makeDisk(disk, 1024);
    const vm = new Vm({ index: i + 1, name, disk, system, dir: dir.path, base, own: guestFiles({ "etc/unibus/node.toml": toml(name, sync) }), drive: throttle }, net);
    vms.push(vm);
    await vm.boot();
    await vm.waitReady();
    const url = `nats://${vm.ip}:4222`;
    const nc = await connectTo([url]);
    await retry("create the stream", async () => (await jetstreamManager(nc)).streams.add({ name: "SD", subjects: ["sd.>"] }));
    await nc.close();
    const one = await rate(url, "sd.one", 1);
    const eight = await rate(url, "sd.eight", 8);
    await vm.shutdown();
    return { sync, one, eight };
  }));
  const card = values.unthrottled ? "unthrottled virtio disk" : `disk throttled to ${values.iops} write IOPS and ${values.mbps} MB/s`;
  console.log(`acknowledged 128-byte writes per second on a ${card} (qemu ${VM_ACCEL}, ${seconds} s each):`);
  for (const r of results) console.log(`  sync = "${r.sync}": ${r.one.toFixed(0)}/s with one publisher, ${r.eight.toFixed(0)}/s with eight`);
} finally {
  for (const vm of vms) await vm.cut();
  net.dispose();
}
