/**
 * backup.ts measures `unibus backup` and `unibus restore` of 100 MB of
 * streams (5 MB in quick mode): two file streams of incompressible payloads
 * (1 KiB and 4 KiB messages) and a KV bucket. The bare side is what NATS
 * users do without it (natscli#213: copy a server's store): `tar -cf` of the
 * bare nats-server's store dir holding the same data, and `tar -xf` of it
 * back; neither is consistent while the server runs, which is the point of
 * the snapshot API, so the ratio says what that consistency costs in time.
 */
import { rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { BenchContext } from "./_context.ts";
import { withPair } from "./_pair.ts";
import { BIN } from "./_servers.ts";
import { MiB, row, type Row } from "./_stats.ts";

/** fill publishes the data set (bytes of streams in total) to a server, a window of publishes in flight. */
async function fill(port: number, bytes: number): Promise<void> {
  const nc = await connect({ servers: `127.0.0.1:${port}` });
  try {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const sets = [{ name: "SMALL", size: 1024, share: 0.6 }, { name: "LARGE", size: 4096, share: 0.4 }];
    for (const s of sets) {
      await jsm.streams.add({ name: s.name, subjects: [`${s.name.toLowerCase()}.>`] });
      const count = Math.floor((bytes * s.share) / s.size);
      let pending: Promise<unknown>[] = [];
      for (let i = 0; i < count; i++) {
        pending.push(js.publish(`${s.name.toLowerCase()}.${i % 16}`, crypto.getRandomValues(new Uint8Array(s.size))));
        if (pending.length >= 256) { await Promise.all(pending); pending = []; }
      }
      await Promise.all(pending);
    }
    const kv = await new Kvm(nc).create("settings");
    for (let i = 0; i < 1000; i++) await kv.put(`key.${i}`, `value ${i}`);
  } finally {
    await nc.close();
  }
}

/** emptyNode deletes every stream, so the restore is the fresh box's case. */
async function emptyNode(port: number): Promise<void> {
  const nc = await connect({ servers: `127.0.0.1:${port}` });
  try {
    const jsm = await jetstreamManager(nc);
    for (const name of await jsm.streams.names().next()) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}

async function timed(cmd: string[]): Promise<number> {
  const t0 = performance.now();
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${err.trim()}`);
  return (performance.now() - t0) / 1000;
}

/** measureBackup returns rows for backup time, restore time and the file's size. */
export async function measureBackup(ctx: BenchContext): Promise<Row[]> {
  const total = (ctx.quick ? 5 : 100) * MiB;
  return withPair(ctx, "bench-backup", { sync: "2m" }, async (pair) => {
    ctx.say(`backup: publishing ${total / MiB} MiB to each side`);
    await fill(pair.unibus.port, total);
    await fill(pair.bare.port, total);
    const config = join(dirname(pair.unibus.dataDir), "node.toml");
    const uBackup: number[] = [];
    const uRestore: number[] = [];
    const bCopy: number[] = [];
    const bBack: number[] = [];
    let size = 0;
    let tarSize = 0;
    for (let i = 0; i < ctx.reps; i++) {
      ctx.say(`backup: repetition ${i + 1}/${ctx.reps}`);
      const file = join(ctx.dir, `bench-${i}.tar`);
      const tar = join(ctx.dir, `bench-bare-${i}.tar`);
      uBackup.push(await timed([BIN, "backup", "--config", config, "--out", file]));
      size = statSync(file).size;
      bCopy.push(await timed(["tar", "-cf", tar, "-C", pair.bare.dir, "."]));
      tarSize = statSync(tar).size;
      await emptyNode(pair.unibus.port);
      uRestore.push(await timed([BIN, "restore", file, "--config", config]));
      const out = join(ctx.dir, `bench-bare-out-${i}`);
      Bun.spawnSync(["mkdir", "-p", out]);
      bBack.push(await timed(["tar", "-xf", tar, "-C", out]));
      rmSync(out, { recursive: true, force: true });
      rmSync(file, { force: true });
      rmSync(tar, { force: true });
    }
    const note = `${total / MiB} MiB in 2 file streams (1 KiB and 4 KiB incompressible messages) + a KV bucket of 1000 keys; bare: tar of the running bare server's store dir (not consistent)`;
    return [
      row({ id: "backup_seconds", name: `unibus backup of ${total / MiB} MiB of streams (bare: tar -cf of the store)`, unit: "s", better: "lower", unibus: uBackup, bare: bCopy, note }),
      row({ id: "restore_seconds", name: `unibus restore of it onto an empty node (bare: tar -xf)`, unit: "s", better: "lower", unibus: uRestore, bare: bBack, note: "restore verifies every SHA-256 first, then restores each stream through JetStream (8 chunks of 128 KiB in flight)" }),
      row({ id: "backup_size_mib", name: "backup file size (bare: tar of the store)", unit: "MiB", better: "lower", unibus: [size / MiB], bare: [tarSize / MiB], note: "JetStream snapshots are s2-compressed; the payloads are random" }),
    ];
  });
}
