/**
 * change.ts makes one change to the cluster's users from a member: it asks
 * every member's replica over the system account (lib/access/replica.ts)
 * whether it is there, refuses with nothing changed when fewer than a
 * majority answer (a RAFT group would refuse the same), then sends the entry
 * to all of them and counts who saved it. The entry is dated after every
 * entry the answering members hold, so a change made after another one wins
 * over it on every member whatever their clocks say.
 */
import type { UnibusConfig } from "../config/sections.ts";
import { majorityOf } from "../diagnosis/quorum.ts";
import { RuntimeError } from "../errors.ts";
import { MemberRegistry } from "../membership/members.ts";
import { SystemClient } from "../natsd/system-client.ts";
import type { SystemCredential } from "../natsd/system-credential.ts";
import { entryProblem, type AccessEntry } from "./ledger.ts";
import { ACCESS_SUBJECTS } from "./replica.ts";

/** PING_PATIENCE_MS is how long a change waits for a majority of members to answer before it is refused (a node that just started answers a moment after nats-server is ready). */
export const PING_PATIENCE_MS = 10_000;

/** ReplicaPing is one member's answer to a ping: its copy's digest, newest entry (ms) and number of users. */
export interface ReplicaPing { node: string; digest: string; latest: number; users: number }

interface Ack { ok: boolean; node: string; error?: string }

/** ChangeOutcome says which members saved a change, of how many, and how long it took (ms). */
export interface ChangeOutcome { took: string[]; size: number; need: number; ms: number }

/** memberCount is how many members a change must reach: the members list, or the config's peers before any check-in. */
export function memberCount(config: UnibusConfig): number {
  const active = new MemberRegistry(config.node.dataDir).active().map((m) => m.name);
  return Math.max(new Set([...active, config.node.name]).size, (config.cluster?.routes.length ?? 0) + 1);
}

/** pingReplicas asks every member's replica for its digest; it returns what answered within timeoutMs. */
export async function pingReplicas(sys: SystemClient, expected: number, timeoutMs = 2_000): Promise<ReplicaPing[]> {
  return sys.requestAll<ReplicaPing>(ACCESS_SUBJECTS.ping, "", { expected, timeoutMs }).catch(() => []);
}

/**
 * changeClusterUsers sends the entry `make` builds (given its date) to every
 * member; it throws a RuntimeError naming who answered when no majority does,
 * before or after sending.
 */
export async function changeClusterUsers(config: UnibusConfig, credential: SystemCredential, make: (at: number) => AccessEntry, what: string): Promise<ChangeOutcome> {
  const size = memberCount(config);
  const need = majorityOf(size);
  const t0 = Date.now();
  await using sys = await SystemClient.connect(config, { credential, name: "unibus-user" });
  let pings: ReplicaPing[] = [];
  for (const until = Date.now() + PING_PATIENCE_MS; ;) {
    pings = await pingReplicas(sys, size);
    if (pings.length >= need || Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (pings.length < need) {
    const who = pings.map((p) => p.node).sort().join(", ") || "none";
    throw new RuntimeError(`only ${pings.length} of ${size} members answer (${who}); a change to the cluster's users needs a majority (${need}). Nothing changed. Start the members that are down or fix the routes (sudo unibus status says which), then try again`);
  }
  const entry = make(Math.max(Date.now(), ...pings.map((p) => p.latest + 1)));
  const problem = entryProblem(entry);
  if (problem) throw new RuntimeError(`refusing to send a malformed user entry (${problem}; a unibus bug)`);
  const acks = await sys.requestAll<Ack>(ACCESS_SUBJECTS.write, { by: config.node.name, entries: [entry] }, { expected: size, timeoutMs: 5_000 }).catch(() => [] as Ack[]);
  const took = acks.filter((a) => a.ok).map((a) => a.node).sort();
  const failed = acks.filter((a) => !a.ok);
  if (took.length < need) {
    throw new RuntimeError(`${what}: only ${took.length} of ${size} members took the change (${took.join(", ") || "none"})${failed.length ? `; ${failed.map((f) => `${f.node}: ${f.error}`).join("; ")}` : ""}. The members that have it pass it on when the others are reachable; run the command again once sudo unibus status is healthy`);
  }
  return { took, size, need, ms: Date.now() - t0 };
}
