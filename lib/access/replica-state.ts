/**
 * replica-state.ts is what a member's access replica (lib/access/replica.ts)
 * found, kept in `<data_dir>/cluster-access-state.json` for `unibus status`
 * and the admin page: since when it cannot reach the system account, and
 * which members' copies of the cluster's users have differed from its own
 * although they exchange digests every few seconds. It is written only when
 * something changes (and at most every 10 s while copies differ), so a healthy
 * node does not write it at all.
 */
import { readFileSync } from "node:fs";
import { dataDirLayout } from "../data-dir.ts";
import { writeFileAtomic } from "../fsutil.ts";

/** DifferingCopy is a member whose digest has differed from this copy's since `since`, last heard at `lastHeard` (ISO times). */
export interface DifferingCopy { node: string; since: string; lastHeard: string }

/** AccessReplicaState is the replica's record. */
export interface AccessReplicaState {
  /** Set while the system-account connection is down: since when (ISO), and why. */
  disconnectedSince?: string;
  error?: string;
  /** Members whose copy differs from this one's. */
  differing: DifferingCopy[];
  /** How many users this member admits from its copy. */
  users: number;
}

/** readAccessReplicaState reads the record; undefined when there is none or it cannot be read. */
export function readAccessReplicaState(dataDir: string): AccessReplicaState | undefined {
  try {
    const s = JSON.parse(readFileSync(dataDirLayout(dataDir).clusterAccessState, "utf8")) as AccessReplicaState;
    return Array.isArray(s.differing) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** writeAccessReplicaState replaces the record (0600, atomic). */
export function writeAccessReplicaState(dataDir: string, state: AccessReplicaState): void {
  writeFileAtomic(dataDirLayout(dataDir).clusterAccessState, JSON.stringify(state, null, 1) + "\n", 0o600);
}
