/**
 * members.ts is a node's list of the cluster's members, kept in
 * `<data_dir>/members.json`. Every node merges what the CA holders tell it
 * (last writer wins per name), so a box learns members that joined after its
 * config was written, and dials them at its next start; a removed member is
 * a tombstone, so a remove is not undone by a node that missed it.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { dataDirLayout } from "../data-dir.ts";
import { ownerOf, writeFileAtomic } from "../fsutil.ts";


/** MemberRecord is what the cluster knows about one member. */
export interface MemberRecord {
  /** nats server_name, also the CN of the member's certificate. */
  name: string;
  /** The random id of the member's data dir: tells a second box with the same name apart. */
  id: string;
  /** The route address the other members dial (host:port). */
  route: string;
  /** The join port, when the member holds the CA key (joins, renewals and check-ins go there). */
  service?: string;
  joinedAt: string;
  /** Milliseconds since the epoch of the last change; the newer record wins a merge. */
  updatedAt: number;
  /** A removed member (unibus remove / leave). */
  removed?: boolean;
  /** When its certificate expires, as it last reported. */
  certNotAfter?: string;
  /** sha256 (hex) of the CA that issued its certificate, as a CA holder saw it at check-in: a CA rotation's progress. */
  caFingerprint?: string;
}

/** MemberRegistry is the members list in memory and on disk. */
export class MemberRegistry {
  readonly file: string;
  readonly #dataDir: string;
  #records = new Map<string, MemberRecord>();

  constructor(dataDir: string) {
    this.#dataDir = dataDir;
    this.file = dataDirLayout(dataDir).members;
    this.#records = new Map(readMembers(this.file).map((r) => [r.name, r]));
  }

  /** all lists every record, removed ones included, by name. */
  all(): MemberRecord[] {
    return [...this.#records.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** active lists the members that were not removed. */
  active(): MemberRecord[] {
    return this.all().filter((r) => !r.removed);
  }

  get(name: string): MemberRecord | undefined {
    return this.#records.get(name);
  }

  /** merge takes the newer record per name and reports whether anything changed. */
  merge(records: readonly unknown[]): boolean {
    let changed = false;
    for (const r of records) {
      if (!isMemberRecord(r)) continue;
      const have = this.#records.get(r.name);
      if (!have || r.updatedAt > have.updatedAt || (r.updatedAt === have.updatedAt && r.removed && !have.removed)) {
        this.#records.set(r.name, { ...r });
        changed = true;
      }
    }
    return changed;
  }

  /** put replaces a record outright (the CA holder's decision at join, check-in or remove). */
  put(record: MemberRecord): void {
    this.#records.set(record.name, { ...record });
  }

  /** save writes the list (0600, owned like the data dir: a root-run leave must not lock the service user out). */
  save(): void {
    writeFileAtomic(this.file, JSON.stringify({ members: this.all() }, null, 2) + "\n", 0o600, ownerOf(this.#dataDir));
  }
}

/**
 * selfRecord is this node's record as it should stand: unchanged (same
 * updatedAt) while nothing about it changed, so a restart does not undo a
 * remove; newer when its address, join port, id or certificate changed.
 */
export function selfRecord(registry: MemberRegistry, base: Omit<MemberRecord, "updatedAt" | "joinedAt" | "removed">, now = Date.now()): MemberRecord {
  const own = registry.get(base.name);
  if (own && own.id === base.id) {
    if (own.removed) return own;
    const same = own.route === base.route && own.service === base.service && own.certNotAfter === base.certNotAfter && (base.caFingerprint === undefined || own.caFingerprint === base.caFingerprint);
    if (same) return own;
    return { ...base, joinedAt: own.joinedAt, updatedAt: Math.max(now, own.updatedAt + 1) };
  }
  return { ...base, joinedAt: new Date(now).toISOString(), updatedAt: Math.max(now, (own?.updatedAt ?? 0) + 1) };
}

/** readMembers reads a members file; a missing or garbled file is an empty list (the CA holders refill it). */
export function readMembers(file: string): MemberRecord[] {
  try {
    const doc = JSON.parse(readFileSync(file, "utf8")) as { members?: unknown[] };
    return (doc.members ?? []).filter(isMemberRecord);
  } catch {
    return [];
  }
}

/** isMemberRecord checks the shape of a record that came from a file or the wire. */
export function isMemberRecord(r: unknown): r is MemberRecord {
  const m = r as MemberRecord;
  return Boolean(m) && typeof m === "object" && typeof m.name === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(m.name) &&
    typeof m.id === "string" && typeof m.route === "string" && typeof m.joinedAt === "string" && typeof m.updatedAt === "number" &&
    (m.service === undefined || typeof m.service === "string") && (m.removed === undefined || typeof m.removed === "boolean");
}

/** nodeId returns this data dir's id, creating it on first use. */
export function nodeId(dataDir: string): string {
  const file = dataDirLayout(dataDir).nodeId;
  try {
    const id = readFileSync(file, "utf8").trim();
    if (/^[0-9a-f]{16,64}$/.test(id)) return id;
  } catch {
    // first start: make one
  }
  const id = randomBytes(16).toString("hex");
  writeFileAtomic(file, id + "\n", 0o600, ownerOf(dataDir));
  return id;
}
