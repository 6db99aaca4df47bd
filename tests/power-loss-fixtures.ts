/**
 * power-loss-fixtures.ts is what the power-loss tests share: a writer that
 * waits for every JetStream acknowledgement and records (stream sequence,
 * payload), a reader that fetches every sequence from one stream leader, and
 * the comparison that counts acknowledged writes lost and sequences holding
 * a payload other than the one acknowledged for them.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { IN_CI, prerequisite, tempDir } from "./_helpers.ts";
import { existsSync } from "node:fs";
import { BIN_X64 } from "./_helpers.ts";
import { QEMU_X86, VM_ACCEL, VM_ACCEL_REASON, kvmUsable } from "./vm-fixtures.ts";

/** vmPrerequisites says whether the power-loss VMs can run here (in CI a missing part fails the test; a kernel that cannot be fetched fails it in fetchVmParts). */
export function vmPrerequisites(): boolean {
  console.log(`power-loss VMs run on qemu ${VM_ACCEL} (${VM_ACCEL_REASON})`);
  return prerequisite(existsSync(QEMU_X86), "qemu-system-x86_64 (apt: qemu-system-x86)")
    && (VM_ACCEL !== "kvm" || prerequisite(kvmUsable(), "a usable /dev/kvm (UNIBUS_VM_ACCEL=kvm)"))
    && prerequisite(existsSync("/usr/sbin/mkfs.ext4"), "mkfs.ext4 (apt: e2fsprogs)")
    && prerequisite(existsSync(BIN_X64), `${BIN_X64} (npm run build)`);
}

export { IN_CI, tempDir };

/** Acked maps each acknowledged stream sequence to the payload acknowledged for it; clashes lists a sequence acknowledged twice with different payloads. */
export interface Acked { bySeq: Map<number, string>; clashes: { seq: number; first: string; second: string }[]; errors: number }

/** newAcked starts an empty record. */
export function newAcked(): Acked {
  return { bySeq: new Map(), clashes: [], errors: 0 };
}

/**
 * connectTo opens a client to the given servers ("nats://10.x.y.z:4222" or
 * tls://…) that keeps trying through cuts and reboots.
 */
export function connectTo(servers: string[], caFile?: string): Promise<NatsConnection> {
  return connect({
    // A paused (SIGSTOPped) server never closes its socket: pings find it within a few seconds.
    servers, timeout: 5_000, reconnectTimeWait: 250, maxReconnectAttempts: -1, pingInterval: 2_000, maxPingOut: 3, noRandomize: true,
    ...(caFile ? { tls: { caFile } } : {}),
  });
}

/**
 * write publishes to SUBJECT with `concurrency` writers until stop() says so
 * (checked between messages), each waiting for its acknowledgement, and
 * records every acknowledged (sequence, payload) in acked. Payloads are
 * unique: `${tag}-${writer}-${n}`. Failed publishes are counted, not recorded.
 */
export async function write(nc: NatsConnection, subject: string, tag: string, acked: Acked, stop: () => boolean, concurrency = 8): Promise<void> {
  const js = jetstream(nc, { timeout: 3_000 });
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    for (let n = 0; !stop(); n++) {
      const payload = `${tag}-${w}-${n}`;
      try {
        const ack = await js.publish(subject, payload, { msgID: payload });
        const before = acked.bySeq.get(ack.seq);
        if (before !== undefined && before !== payload) acked.clashes.push({ seq: ack.seq, first: before, second: payload });
        else acked.bySeq.set(ack.seq, payload);
      } catch {
        acked.errors++;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }));
}

/** StoredRead is what one read of a stream found: payload by sequence, and the stream's first and last sequence. */
export interface StoredRead { bySeq: Map<number, string>; first: number; last: number; messages: number }

/** READ_CONCURRENCY is how many STREAM.MSG.GET requests readAll keeps in flight: one at a time, an emulated server answered about 25 a second. */
const READ_CONCURRENCY = 32;

/**
 * readAll fetches every sequence from first to last from the stream leader
 * (STREAM.MSG.GET, answered from the leader's own store), so the result is
 * that replica's view. Requests go READ_CONCURRENCY at a time.
 */
export async function readAll(nc: NatsConnection, stream: string): Promise<StoredRead> {
  const jsm = await jetstreamManager(nc, { timeout: 10_000 });
  const info = await jsm.streams.info(stream);
  const bySeq = new Map<number, string>();
  let next = info.state.first_seq;
  const last = info.state.messages > 0 ? info.state.last_seq : next - 1;
  await Promise.all(Array.from({ length: READ_CONCURRENCY }, async () => {
    for (let seq = next++; seq <= last; seq = next++) {
      try {
        const m = await jsm.streams.getMessage(stream, { seq });
        if (m) bySeq.set(seq, m.string());
      } catch (err) {
        if (!/no message found|not found/i.test(String(err))) throw err;
      }
    }
  }));
  return { bySeq, first: info.state.first_seq, last: info.state.last_seq, messages: info.state.messages };
}

/** Verdict compares what was acknowledged with what a replica holds. */
export interface Verdict { acked: number; lost: number; wrong: number; sample: string[] }

/**
 * compare counts acknowledged writes missing from the read (lost) and
 * sequences whose stored payload is not the one acknowledged for them (wrong),
 * plus any sequence acknowledged twice with different payloads.
 */
export function compare(acked: Acked, read: StoredRead): Verdict {
  let lost = 0;
  let wrong = acked.clashes.length;
  const sample: string[] = acked.clashes.slice(0, 3).map((c) => `seq ${c.seq} acknowledged for ${c.first} and again for ${c.second}`);
  for (const [seq, payload] of acked.bySeq) {
    const got = read.bySeq.get(seq);
    if (got === undefined) {
      lost++;
      if (sample.length < 6) sample.push(`seq ${seq} (${payload}) missing`);
    } else if (got !== payload) {
      wrong++;
      if (sample.length < 6) sample.push(`seq ${seq} holds ${got}, acknowledged ${payload}`);
    }
  }
  return { acked: acked.bySeq.size, lost, wrong, sample };
}

/** UNRECOVERABLE is nats-server's complaint about a stream it cannot load after a cut: waiting for ready will not cure it. */
export const UNRECOVERABLE = /stream '[^']*' could not be recovered/;

/**
 * retry repeats call until it resolves or timeoutMs passes, for the moments a
 * cluster elects leaders; it stops at once when hopeless(err) says waiting
 * will not help.
 */
export async function retry<T>(what: string, call: () => Promise<T>, timeoutMs = 60_000, hopeless?: (err: unknown) => boolean): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (Date.now() > until || hopeless?.(err)) throw new Error(`${what}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * goneFor returns a predicate for retry that turns true once the stream has
 * been reported missing ("stream not found") for graceMs without a break:
 * a control cut with sync = "2m" can lose the stream itself, and waiting
 * minutes for it proves nothing more.
 */
export function goneFor(graceMs = 20_000): (err: unknown) => boolean {
  let since: number | undefined;
  return (err) => {
    if (!/stream not found/i.test(String((err as Error)?.message ?? err))) {
      since = undefined;
      return false;
    }
    since ??= Date.now();
    return Date.now() - since >= graceMs;
  };
}

/**
 * guestNodeToml is the node.toml every power-loss guest starts from: data on
 * the guest's data disk, anonymous clients on the guest network, no admin
 * page, small JetStream limits. sync is written only when given (the reload
 * case keeps unibus's default); the caller appends its own tables.
 */
export function guestNodeToml(name: string, sync?: string): string {
  return `[node]
name = "${name}"
data_dir = "/var/lib/unibus"
[client]
listen = "0.0.0.0:4222"
allow_anonymous = true
[monitor]
listen = "127.0.0.1:8222"
[admin]
enabled = false
[jetstream]
max_memory = "32MiB"
max_file = "256MiB"
${sync === undefined ? "" : `sync = "${sync}"\n`}[log]
format = "text"
`;
}
