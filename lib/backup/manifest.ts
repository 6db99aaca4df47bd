/**
 * manifest.ts is what a backup says about itself: which streams (and the KV
 * buckets and object stores among them) it holds, with their configs,
 * message counts and sequence ranges; which cluster files; each entry's size
 * and SHA-256. It is the archive's next-to-last entry, followed by its own
 * digest, so `unibus backup inspect` and `tar xOf FILE manifest.json` show it,
 * and verifyBackup proves the whole file before a restore touches anything.
 */
import { createHash } from "node:crypto";
import { RuntimeError } from "../errors.ts";
import { counted, formatBytes } from "../format.ts";
import { entrySha256, listArchive, readEntry, type ArchiveEntry } from "./archive.ts";

/** MANIFEST_ENTRY and MANIFEST_DIGEST_ENTRY are the archive's last two entries. */
export const MANIFEST_ENTRY = "manifest.json";
export const MANIFEST_DIGEST_ENTRY = "manifest.json.sha256";
/** BACKUP_FORMAT names the format in the manifest, so a stranger's tar file is told apart. */
export const BACKUP_FORMAT = "unibus-backup";
export const BACKUP_VERSION = 1;

/** StreamKind tells a KV bucket and an object store (both are streams) from a plain stream. */
export type StreamKind = "stream" | "kv" | "object";

/** StreamState is the part of JetStream's stream state a backup records. */
export interface StreamState { messages: number; bytes: number; first_seq: number; last_seq: number; consumer_count: number; [key: string]: unknown }

/** BackedUpStream is one stream in the backup. */
export interface BackedUpStream {
  name: string;
  kind: StreamKind;
  /** The bucket's name for a KV bucket or object store. */
  bucket?: string;
  /** The archive entry holding JetStream's snapshot (s2-compressed tar, as nats-server makes it). */
  entry: string;
  size: number;
  sha256: string;
  /** The stream's config and state when the snapshot was taken (what the restore request sends). */
  config: Record<string, unknown> & { name: string; num_replicas?: number };
  state: StreamState;
  /** Its consumers (config and state are in the snapshot): name and configured replicas (0: the stream's). */
  consumers?: { name: string; replicas: number }[];
}

/** ClusterFile is a file the cluster needs to come back: members, config, CA certificate, encrypted secrets. */
export interface ClusterFile {
  entry: string;
  /** What it is, in words ("members list", "node config", "CA certificate", "CA key, encrypted"). */
  what: string;
  /** Where it came from on the box that made the backup. */
  source: string;
  size: number;
  sha256: string;
  encrypted?: boolean;
}

/** Manifest is the backup's table of contents. */
export interface Manifest {
  format: typeof BACKUP_FORMAT;
  version: number;
  createdAt: string;
  /** How long taking it took, in milliseconds. */
  durationMs: number;
  node: string;
  cluster?: string;
  unibus: string;
  streams: BackedUpStream[];
  files: ClusterFile[];
  /** What the backup leaves out and why (e.g. the CA key without a passphrase). */
  notes: string[];
}

/** kindOfStream tells KV buckets (KV_…) and object stores (OBJ_…) from plain streams by JetStream's naming. */
export function kindOfStream(name: string): { kind: StreamKind; bucket?: string } {
  if (name.startsWith("KV_") && name.length > 3) return { kind: "kv", bucket: name.slice(3) };
  if (name.startsWith("OBJ_") && name.length > 4) return { kind: "object", bucket: name.slice(4) };
  return { kind: "stream" };
}

/** manifestDigest is the text of the manifest's digest entry. */
export function manifestDigest(json: string): string {
  return `${createHash("sha256").update(json).digest("hex")}  ${MANIFEST_ENTRY}\n`;
}

/** VerifiedBackup is a backup whose every entry matched its digest. */
export interface VerifiedBackup {
  file: string;
  manifest: Manifest;
  entries: Map<string, ArchiveEntry>;
}

/**
 * readManifest reads and checks the manifest only (its digest, format and
 * version), for inspect; verifyBackup also checks every entry.
 */
export function readManifest(file: string): { manifest: Manifest; entries: Map<string, ArchiveEntry> } {
  const list = listArchive(file);
  const entries = new Map(list.map((e) => [e.name, e]));
  const last = list.at(-1);
  const m = entries.get(MANIFEST_ENTRY);
  if (!m || last?.name !== MANIFEST_DIGEST_ENTRY) {
    throw new RuntimeError(`${file} has no manifest at its end: it is ${list.length ? "cut short (the backup was not completely written or copied)" : "empty"} or not a unibus backup`);
  }
  const json = new TextDecoder().decode(readEntry(file, m));
  const digest = new TextDecoder().decode(readEntry(file, last));
  if (digest !== manifestDigest(json)) throw new RuntimeError(`${file} is damaged: its manifest does not match its SHA-256`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(json) as Manifest;
  } catch (err) {
    throw new RuntimeError(`${file} is damaged: its manifest is not JSON (${(err as Error).message})`);
  }
  if (manifest.format !== BACKUP_FORMAT) throw new RuntimeError(`${file} is not a unibus backup (format ${JSON.stringify(manifest.format)})`);
  if (manifest.version > BACKUP_VERSION) throw new RuntimeError(`${file} is a backup of format version ${manifest.version}; this unibus reads version ${BACKUP_VERSION}: use a newer unibus`);
  return { manifest, entries };
}

/**
 * verifyBackup checks a backup file completely: the manifest, and every
 * entry it lists present with its size and SHA-256. It reads the whole
 * file; onProgress gets the bytes checked so far. Throws a RuntimeError
 * naming the file and the first entry that fails.
 */
export function verifyBackup(file: string, onProgress?: (checked: number, total: number) => void): VerifiedBackup {
  const { manifest, entries } = readManifest(file);
  const listed = [...manifest.streams.map((s) => ({ entry: s.entry, size: s.size, sha256: s.sha256, what: `stream ${s.name}` })), ...manifest.files.map((f) => ({ ...f }))];
  const total = listed.reduce((n, e) => n + e.size, 0);
  let checked = 0;
  for (const item of listed) {
    const entry = entries.get(item.entry);
    if (!entry) throw new RuntimeError(`${file} is damaged: ${item.what} (${item.entry}) is missing`);
    if (entry.size !== item.size) throw new RuntimeError(`${file} is damaged: ${item.what} (${item.entry}) has ${entry.size} bytes, the manifest says ${item.size}`);
    if (entrySha256(file, entry) !== item.sha256) throw new RuntimeError(`${file} is damaged: ${item.what} (${item.entry}) does not match its SHA-256; restore from another backup`);
    checked += entry.size;
    onProgress?.(checked, total);
  }
  return { file, manifest, entries };
}

/** describeManifest renders the manifest for a person: what, when, from where, every stream and file. */
export function describeManifest(file: string, manifest: Manifest): string {
  const lines: string[] = [];
  lines.push(`${file}: unibus backup (format ${manifest.version})`);
  lines.push(`  taken     ${manifest.createdAt} on node ${manifest.node}${manifest.cluster ? ` of cluster ${manifest.cluster}` : ""} by unibus ${manifest.unibus}, in ${(manifest.durationMs / 1000).toFixed(1)} s`);
  const count = (k: StreamKind) => manifest.streams.filter((s) => s.kind === k).length;
  lines.push(`  contents  ${counted(count("stream"), "stream")}, ${counted(count("kv"), "KV bucket")}, ${counted(count("object"), "object store")}; ${counted(manifest.files.length, "cluster file")}`);
  if (manifest.streams.length) {
    lines.push("", "  kind    name                           messages  first..last seq        replicas  consumers  snapshot");
    for (const s of manifest.streams) {
      const name = s.bucket ?? s.name;
      lines.push(`  ${s.kind.padEnd(6)}  ${name.padEnd(29)}  ${String(s.state.messages).padStart(8)}  ${`${s.state.first_seq}..${s.state.last_seq}`.padEnd(21)}  ${String(s.config.num_replicas ?? 1).padStart(8)}  ${String(s.state.consumer_count ?? 0).padStart(9)}  ${formatBytes(s.size)}`);
    }
  }
  if (manifest.files.length) {
    lines.push("", "  cluster files");
    for (const f of manifest.files) lines.push(`    ${f.entry.padEnd(32)} ${f.what}${f.encrypted ? " (encrypted with the backup passphrase)" : ""}, from ${f.source}`);
  }
  for (const n of manifest.notes) lines.push(`  note: ${n}`);
  return lines.join("\n") + "\n";
}
