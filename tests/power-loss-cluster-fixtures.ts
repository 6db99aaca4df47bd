/**
 * power-loss-cluster-fixtures.ts boots a three-node unibus cluster in VMs
 * (tests/vm-fixtures.ts) with an R3 stream, and reads the stream back from
 * every replica in turn: a leader stepdown with a preferred placement moves
 * the stream's leadership to each node, and every sequence is fetched from
 * that leader's own store.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { randomSecret } from "./cluster-fixtures.ts";
import { makeCaDir } from "./pki-fixtures.ts";
import { guestFiles, makeDisk, Vm, type VmNet } from "./vm-fixtures.ts";
import { goneFor, guestNodeToml, readAll, retry, type StoredRead } from "./power-loss-fixtures.ts";

/** VmCluster is three booted guests forming one cluster, and the CA a client verifies them with. */
export interface VmCluster { vms: Vm[]; caFile: string; urls: string[] }

function clusterToml(name: string, self: string, peers: string[], sync: string, clusterName: string): string {
  return `${guestNodeToml(name, sync)}[cluster]
name = "${clusterName}"
listen = "0.0.0.0:6222"
advertise = "${self}:6222"
peers = [${peers.map((p) => `"${p}:6222"`).join(", ")}]
secret_file = "/etc/unibus/cluster.secret"
[tls]
ca_cert = "/etc/unibus/ca.pem"
ca_key = "/etc/unibus/ca-key.pem"
`;
}

/**
 * makeVmCluster writes a CA, a route secret and three nodes' configs, makes
 * their disks and boots them (not yet waiting for ready). indexes are the
 * guests' numbers on net; prefix names the nodes (prefix-1 …).
 */
export async function makeVmCluster(opts: { dir: string; net: VmNet; base: Uint8Array; system: string; indexes: number[]; prefix: string; sync: string; memMiB?: number }): Promise<VmCluster> {
  const ca = await makeCaDir(opts.dir, `${opts.prefix}-ca`);
  const secret = randomSecret();
  const ips = opts.indexes.map((i) => opts.net.guestIp(i));
  const vms = opts.indexes.map((index, k) => {
    const name = `${opts.prefix}-${k + 1}`;
    const disk = join(opts.dir, `${name}.img`);
    makeDisk(disk, 1024);
    const own = guestFiles({
      "etc/unibus/node.toml": clusterToml(name, ips[k]!, ips, opts.sync, opts.prefix),
      "etc/unibus/ca.pem": readFileSync(ca.cert),
      "etc/unibus/ca-key.pem": readFileSync(ca.key),
      "etc/unibus/cluster.secret": `${secret}\n`,
    });
    return new Vm({ index, name, disk, system: opts.system, dir: opts.dir, base: opts.base, own, memMiB: opts.memMiB }, opts.net);
  });
  return { vms, caFile: ca.cert, urls: ips.map((ip) => `tls://${ip}:4222`) };
}

/** streamLeader names the stream's current leader, or undefined while there is none. */
export async function streamLeader(nc: NatsConnection, stream: string): Promise<string | undefined> {
  const jsm = await jetstreamManager(nc, { timeout: 5_000 });
  const info = await jsm.streams.info(stream);
  return info.cluster?.leader || undefined;
}

/**
 * moveLeader makes the named node the stream's leader (a stepdown with a
 * preferred placement, repeated until it holds) within timeoutMs, or throws
 * naming the leader it found instead; hopeless (see retry) ends it early.
 */
export async function moveLeader(nc: NatsConnection, stream: string, name: string, timeoutMs = 120_000, hopeless?: (err: unknown) => boolean): Promise<void> {
  await retry(`move ${stream}'s leader to ${name}`, async () => {
    const leader = await streamLeader(nc, stream);
    if (leader === name) return;
    await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, JSON.stringify({ placement: { preferred: name } }), { timeout: 10_000 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1_000));
    const now = await streamLeader(nc, stream);
    if (now !== name) throw new Error(`the leader is ${now ?? "nobody"}`);
  }, timeoutMs, hopeless);
}

/**
 * readEveryReplica moves the stream's leadership to each named node in turn
 * and reads every sequence from it. A node that cannot take the lead within
 * the time limit is reported by name with what was tried; a stream missing
 * for 20 s on end is reported at once (a "2m" control can lose it whole).
 * enough(read), when given, ends the tour early once a replica's read
 * already proves the point (a control's first replica that lost writes).
 */
export async function readEveryReplica(nc: NatsConnection, stream: string, names: string[], timeoutMs = 120_000, enough?: (read: StoredRead) => boolean): Promise<Map<string, StoredRead>> {
  const reads = new Map<string, StoredRead>();
  const gone = goneFor();
  for (const name of names) {
    await moveLeader(nc, stream, name, timeoutMs, gone);
    const read = await retry(`read ${stream} from ${name}`, async () => {
      // Leadership may move away again while a replica that was cut off catches up (seen in CI: every read
      // for 180 s said it had moved): bring it back before each attempt, not only before the first.
      await moveLeader(nc, stream, name, 30_000, gone);
      const read = await readAll(nc, stream);
      const leader = await streamLeader(nc, stream);
      if (leader !== name) throw new Error(`leadership moved to ${leader} while reading`);
      return read;
    }, timeoutMs, gone);
    reads.set(name, read);
    if (enough?.(read)) break;
  }
  return reads;
}
