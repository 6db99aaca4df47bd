/**
 * edges.ts is a hub node's list of enrolled edges, kept in
 * `<data_dir>/edges.json`. An edge enrolled with `unibus join --edge` signs
 * in to the hub's leaf port with its own user nkey: the hub keeps only the
 * public key, so the list holds no secret and every hub node can carry it.
 * The CA holders decide (enroll, remove); every hub node merges what they
 * tell it at check-in (last writer wins per name), and a removed edge is a
 * tombstone so a remove is not undone by a node that missed it.
 */
import { readFileSync } from "node:fs";
import { dataDirLayout } from "../data-dir.ts";
import { ownerOf, writeFileAtomic } from "../fsutil.ts";

/** EdgeRecord is what the hub cluster knows about one enrolled edge. */
export interface EdgeRecord {
  /** The edge's nats server_name, also the CN of its certificate. */
  name: string;
  /** The public user nkey ("U…") the edge signs in to the leaf port with. */
  nkey: string;
  enrolledAt: string;
  /** Milliseconds since the epoch of the last change; the newer record wins a merge. */
  updatedAt: number;
  /** When the edge's certificate expires, as issued. */
  certNotAfter?: string;
  /** sha256 (hex) of the CA that issued the edge's certificate (a CA rotation waits for edges to move to the new one). */
  caFingerprint?: string;
  /** The edge's home hub node ("host:port" of its leaf port), given at enrollment (lib/fleet/hub-order.ts assignHome). */
  home?: string;
  /** Its second choice ("host:port"), given at enrollment among the edges of the same home (assignFallback): a lost home's edges split evenly. */
  fallback?: string;
  /** A removed edge (unibus edge remove): its nkey no longer signs in. */
  removed?: boolean;
}

/** EdgeRegistry is the enrolled edges in memory and on disk. */
export class EdgeRegistry {
  readonly file: string;
  readonly #dataDir: string;
  #records = new Map<string, EdgeRecord>();

  constructor(dataDir: string) {
    this.#dataDir = dataDir;
    this.file = dataDirLayout(dataDir).edges;
    this.#records = new Map(readEdges(this.file).map((r) => [r.name, r]));
  }

  /** all lists every record, removed ones included, by name. */
  all(): EdgeRecord[] {
    return [...this.#records.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** active lists the edges that may sign in. */
  active(): EdgeRecord[] {
    return this.all().filter((r) => !r.removed);
  }

  get(name: string): EdgeRecord | undefined {
    return this.#records.get(name);
  }

  /** merge takes the newer record per name and reports whether anything changed. */
  merge(records: readonly unknown[]): boolean {
    let changed = false;
    for (const r of records) {
      if (!isEdgeRecord(r)) continue;
      const have = this.#records.get(r.name);
      if (!have || r.updatedAt > have.updatedAt || (r.updatedAt === have.updatedAt && r.removed && !have.removed)) {
        this.#records.set(r.name, { ...r });
        changed = true;
      }
    }
    return changed;
  }

  /** put replaces a record outright (a CA holder's decision at enrollment or remove). */
  put(record: EdgeRecord): void {
    this.#records.set(record.name, { ...record });
  }

  /** save writes the list (0600, owned like the data dir). */
  save(): void {
    writeFileAtomic(this.file, JSON.stringify({ edges: this.all() }, null, 2) + "\n", 0o600, ownerOf(this.#dataDir));
  }
}

/** readEdges reads an edges file; a missing or garbled file is an empty list (the CA holders refill it). */
export function readEdges(file: string): EdgeRecord[] {
  try {
    const doc = JSON.parse(readFileSync(file, "utf8")) as { edges?: unknown[] };
    return (doc.edges ?? []).filter(isEdgeRecord);
  } catch {
    return [];
  }
}

/** isEdgeRecord checks the shape of a record that came from a file or the wire. */
export function isEdgeRecord(r: unknown): r is EdgeRecord {
  const e = r as EdgeRecord;
  return Boolean(e) && typeof e === "object" && typeof e.name === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(e.name) &&
    typeof e.nkey === "string" && /^U[A-Z2-7]{55}$/.test(e.nkey) && typeof e.enrolledAt === "string" && typeof e.updatedAt === "number" &&
    (e.removed === undefined || typeof e.removed === "boolean");
}
