/**
 * ledger.ts is the cluster's client access: the users (bcrypt hashes) and
 * nkeys with their subject permissions that every member admits, defined
 * once for the cluster with `unibus user add|passwd|remove`. It is a
 * last-writer-wins map keyed by user name, removals kept as tombstones, so
 * merging two copies in any order gives the same result (a state-based
 * CRDT, as the members list is): members exchange it over the system
 * account (lib/access/replica.ts) and each keeps its own copy in
 * `<data_dir>/cluster-access.json` (0600), which it renders into nats-server
 * at every start, alone or not. Passwords are hashed once, by `user add`;
 * the ledger never holds one in clear.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { isBcryptHash } from "../auth/bcrypt.ts";
import { dataDirLayout } from "../data-dir.ts";
import { subjectProblem } from "../auth/subjects.ts";
import { RuntimeError } from "../errors.ts";
import { writeFileAtomic, type FileOwner } from "../fsutil.ts";


/** AccessRule is an allow list and a deny list of subjects, as nats-server takes them. */
export interface AccessRule { allow?: string[]; deny?: string[] }

/**
 * AccessEntry is one user of the cluster, or the tombstone of a removed one.
 * A password user carries its bcrypt hash, an nkey user its public key; no
 * rules on a password user means everything is allowed, on an nkey user
 * that nothing is (the allow-list model of [[client.nkeys]]).
 */
export interface AccessEntry {
  /** The user name (nkey users: a label, shown by `unibus user list`). */
  name: string;
  kind: "password" | "nkey";
  /** bcrypt hash ($2a$…) of a password user. */
  passwordHash?: string;
  /** Public user nkey (U…) of an nkey user. */
  publicKey?: string;
  publish?: AccessRule;
  subscribe?: AccessRule;
  /** The kinds of connection it may sign in on (nats allowed_connection_types); none: every client kind. */
  connections?: ConnectionType[];
  /** A removed user: kept so that a copy that missed the removal cannot bring it back. */
  removed?: boolean;
  /** Milliseconds since the epoch, at least one more than any entry its writer had seen: the newer entry wins. */
  at: number;
  /** The member that wrote it (breaks a tie of `at`). */
  by: string;
}

/** CONNECTION_TYPES are the client connection kinds a cluster user can be limited to, by their nats names. */
export const CONNECTION_TYPES = { client: "STANDARD", mqtt: "MQTT", websocket: "WEBSOCKET" } as const;

/** ConnectionType is one nats connection kind a user may sign in on. */
export type ConnectionType = (typeof CONNECTION_TYPES)[keyof typeof CONNECTION_TYPES];

const CONNECTION_NAMES = new Set<string>(Object.values(CONNECTION_TYPES));

/** accessFile is where a data dir keeps the local copy. */
export function accessFile(dataDir: string): string {
  return dataDirLayout(dataDir).clusterAccess;
}

function isRule(v: unknown): v is AccessRule {
  if (v === undefined) return true;
  if (!v || typeof v !== "object" || Array.isArray(v)) return false;
  const r = v as Record<string, unknown>;
  return Object.keys(r).every((k) => (k === "allow" || k === "deny") && Array.isArray(r[k]) && (r[k] as unknown[]).every((s) => typeof s === "string" && !subjectProblem(s)));
}

/**
 * entryProblem says what is wrong with an entry received from a peer or the
 * CLI, if anything; an entry with a problem is never stored nor rendered.
 */
export function entryProblem(v: unknown): string | undefined {
  if (!v || typeof v !== "object" || Array.isArray(v)) return "expected an object";
  const e = v as Record<string, unknown>;
  if (typeof e.name !== "string" || !/^[^\s"]{1,128}$/.test(e.name)) return "expected a user name without spaces or quotes";
  if (typeof e.at !== "number" || !Number.isFinite(e.at) || typeof e.by !== "string") return "expected at (ms) and by (member)";
  if (e.kind !== "password" && e.kind !== "nkey") return 'expected kind "password" or "nkey"';
  if (e.removed === true) return undefined;
  if (e.kind === "password" && (typeof e.passwordHash !== "string" || !isBcryptHash(e.passwordHash))) return "expected a bcrypt hash";
  if (e.kind === "nkey" && (typeof e.publicKey !== "string" || !/^U[A-Z2-7]{55}$/.test(e.publicKey))) return "expected a user public nkey";
  if (!isRule(e.publish) || !isRule(e.subscribe)) return "expected publish/subscribe { allow, deny } lists of subjects";
  if (e.connections !== undefined && (!Array.isArray(e.connections) || e.connections.length === 0 || !e.connections.every((c) => CONNECTION_NAMES.has(c as string)))) return `expected connections from ${[...CONNECTION_NAMES].join(", ")}`;
  return undefined;
}

/** newer tells whether a should replace b: a later `at`, or the same `at` and a greater writer name. */
export function newer(a: AccessEntry, b: AccessEntry | undefined): boolean {
  if (!b) return true;
  if (a.at !== b.at) return a.at > b.at;
  if (a.by !== b.by) return a.by > b.by;
  // Same writer and time: order by content, so every copy picks the same one.
  return JSON.stringify(a) > JSON.stringify(b);
}

/** AccessLedger is one member's copy of the cluster's users, in memory and on disk. */
export class AccessLedger {
  readonly file: string;
  #entries = new Map<string, AccessEntry>();

  /** With `fresh`, the copy on disk is not read (a box that joins replaces whatever an earlier node left). */
  constructor(dataDir: string, options: { fresh?: boolean } = {}) {
    this.file = accessFile(dataDir);
    if (!options.fresh) for (const e of readEntries(this.file)) this.#entries.set(e.name, e);
  }

  /** all lists every entry, tombstones included, by name. */
  all(): AccessEntry[] {
    return [...this.#entries.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** active lists the users that are not removed. */
  active(): AccessEntry[] {
    return this.all().filter((e) => !e.removed);
  }

  get(name: string): AccessEntry | undefined {
    return this.#entries.get(name);
  }

  /** latest is the greatest `at` of any entry (0 when empty): a new write must be later. */
  latest(): number {
    let max = 0;
    for (const e of this.#entries.values()) max = Math.max(max, e.at);
    return max;
  }

  /**
   * merge takes every entry that is valid and newer than the one held;
   * returns the names that changed (empty: nothing to save or apply).
   */
  merge(entries: readonly unknown[]): string[] {
    const changed: string[] = [];
    for (const raw of entries) {
      if (entryProblem(raw)) continue;
      const e = normalized(raw as AccessEntry);
      if (newer(e, this.#entries.get(e.name))) {
        this.#entries.set(e.name, e);
        changed.push(e.name);
      }
    }
    return changed;
  }

  /** digest is a short fingerprint of the whole copy: two members with one digest hold the same users. */
  digest(): string {
    return createHash("sha256").update(JSON.stringify(this.all())).digest("hex").slice(0, 16);
  }

  /** save writes the copy (0600, atomic; owned by owner when root writes it for the service user). */
  save(owner?: FileOwner): void {
    writeFileAtomic(this.file, JSON.stringify({ v: 1, entries: this.all() }, null, 1) + "\n", 0o600, owner);
  }
}

/** normalized keeps only the fields of an entry, so stray keys from a peer never reach the file or nats-server. */
function normalized(e: AccessEntry): AccessEntry {
  return {
    name: e.name,
    kind: e.kind,
    ...(e.removed ? { removed: true } : {
      ...(e.kind === "password" ? { passwordHash: e.passwordHash! } : { publicKey: e.publicKey! }),
      ...(e.publish ? { publish: pickRule(e.publish) } : {}),
      ...(e.subscribe ? { subscribe: pickRule(e.subscribe) } : {}),
      ...(e.connections ? { connections: [...e.connections] } : {}),
    }),
    at: e.at,
    by: e.by,
  };
}

function pickRule(r: AccessRule): AccessRule {
  return { ...(r.allow ? { allow: [...r.allow] } : {}), ...(r.deny ? { deny: [...r.deny] } : {}) };
}

/**
 * readEntries reads a local copy: none is an empty list; a copy others can
 * read, or one that does not parse, is an error naming the file and the fix.
 */
export function readEntries(file: string): AccessEntry[] {
  let text: string;
  try {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) throw new RuntimeError(`${file} holds the cluster's password hashes and must be readable by its owner only (chmod 600 ${file}); it has mode ${mode.toString(8).padStart(4, "0")}`);
    text = readFileSync(file, "utf8");
  } catch (err) {
    if (err instanceof RuntimeError) throw err;
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new RuntimeError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as { entries?: unknown };
    if (!Array.isArray(parsed.entries)) throw new Error("no entries list");
    return parsed.entries.filter((e) => !entryProblem(e)).map((e) => normalized(e as AccessEntry));
  } catch (err) {
    throw new RuntimeError(`${file} is not a unibus cluster access file (${(err as Error).message}); move it away and restart: the node takes the users back from the other members`);
  }
}
