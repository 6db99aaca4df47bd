/**
 * take.ts makes one backup file of a running cluster from any member: every
 * stream of the clients' account (KV buckets and object stores are streams)
 * through JetStream's snapshot API, each consistent on its own, plus what
 * the cluster needs to come back: the members list, this node's config, the
 * CA certificate, and, only when a passphrase is given, the CA key and the
 * route secret encrypted with it. The file is written as FILE.partial beside
 * FILE and renamed into place once complete and flushed: a failed or
 * interrupted backup never leaves a file that looks like a backup.
 */
import { existsSync, readFileSync, renameSync, rmSync, statfsSync } from "node:fs";
import { basename, dirname } from "node:path";
import type { UnibusConfig } from "../config/load.ts";
import { RuntimeError } from "../errors.ts";
import { mkdirLikeParent } from "../fsutil.ts";
import { formatBytes } from "../format.ts";
import { dataDirLayout } from "../data-dir.ts";
import { ArchiveWriter, type WrittenEntry } from "./archive.ts";
import { connectJetstream } from "./connect.ts";
import { BACKUP_FORMAT, BACKUP_VERSION, MANIFEST_DIGEST_ENTRY, MANIFEST_ENTRY, kindOfStream, manifestDigest, type BackedUpStream, type ClusterFile, type Manifest } from "./manifest.ts";
import { seal } from "./secret-box.ts";
import { listConsumers, listStreams, snapshotStream } from "./stream-snapshot.ts";

/** BackupProgress is reported as the backup goes: which stream of how many, bytes so far. */
export interface BackupProgress { stream?: string; index: number; total: number; bytes: number }

/** BackupOptions say where to write and what to include. */
export interface BackupOptions {
  /** The backup file to write (its folder is created, mode 0700). */
  out: string;
  /** With a passphrase, the CA key and the route secret are included, encrypted with it. */
  passphrase?: string;
  /** unibus's version, recorded in the manifest. */
  unibusVersion: string;
  onProgress?: (p: BackupProgress) => void;
}

/** BackupResult is the manifest written and the file's size. */
export interface BackupResult { file: string; bytes: number; manifest: Manifest }

function addFile(writer: ArchiveWriter, files: ClusterFile[], entry: string, what: string, source: string, data: Uint8Array | string, encrypted = false): void {
  const w: WrittenEntry = writer.add(entry, data);
  files.push({ entry, what, source, size: w.size, sha256: w.sha256, ...(encrypted ? { encrypted } : {}) });
}

/** clusterFiles adds the members list, config and CA files (and the sealed secrets with a passphrase). */
function addClusterFiles(config: UnibusConfig, writer: ArchiveWriter, passphrase: string | undefined, files: ClusterFile[], notes: string[]): void {
  const layout = dataDirLayout(config.node.dataDir);
  if (existsSync(layout.members)) addFile(writer, files, "cluster/members.json", "members list", layout.members, readFileSync(layout.members));
  if (existsSync(layout.clusterAccess)) addFile(writer, files, "cluster/cluster-access.json", "cluster users (password hashes and nkeys, as this member knows them)", layout.clusterAccess, readFileSync(layout.clusterAccess));
  addFile(writer, files, `cluster/${basename(config.file)}`, `config of node ${config.node.name}`, config.file, readFileSync(config.file));
  const tls = config.tls;
  if (tls) {
    addFile(writer, files, "cluster/ca.pem", "CA certificate", tls.caCert, readFileSync(tls.caCert));
    if (tls.caKey && passphrase) {
      addFile(writer, files, "secrets/ca-key.pem.sealed", "CA key", tls.caKey, JSON.stringify(seal(readFileSync(tls.caKey), passphrase)), true);
    } else if (tls.caKey) {
      notes.push("the CA key is not included: give a passphrase (backup.passphrase_file, or --passphrase-file) to include it encrypted");
    } else {
      notes.push("this node holds no CA key; back up a CA holder, or keep the CA key elsewhere");
    }
  }
  const secret = config.cluster?.secret.value;
  if (secret && passphrase) addFile(writer, files, "secrets/cluster.secret.sealed", "route secret", config.cluster?.secret.source ?? "cluster.secret_file", JSON.stringify(seal(new TextEncoder().encode(secret), passphrase)), true);
  else if (secret) notes.push("the route secret is not included: give a passphrase to include it encrypted");
}

/** ROOM_MARGIN keeps this share of the disk free after a backup: JetStream shares the disk (the default dir is in the data dir). */
const ROOM_MARGIN = 0.1;

/**
 * assertRoom refuses, before writing anything, a backup that would fill the
 * disk of its folder: about `bytes` (the streams' stored size; snapshots are
 * compressed, so rarely more) plus a tenth of the disk must be free.
 */
function assertRoom(out: string, bytes: number): void {
  let st: { bavail: number; bsize: number; blocks: number };
  try {
    st = statfsSync(dirname(out));
  } catch {
    return;
  }
  const free = st.bavail * st.bsize;
  const need = bytes + ROOM_MARGIN * st.blocks * st.bsize;
  if (need > free) {
    throw new RuntimeError(`not enough room for ${out}: the streams hold about ${formatBytes(bytes)} and the disk of ${dirname(out)} has ${formatBytes(free)} free, of which a tenth of the disk stays free (df -h ${dirname(out)}); nothing was written`);
  }
}

/**
 * takeBackup writes a backup of the cluster the node described by config
 * belongs to. Throws a RuntimeError (and leaves no file) when the node
 * cannot be reached, a snapshot fails or the disk is full.
 */
export async function takeBackup(config: UnibusConfig, options: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  mkdirLikeParent(dirname(options.out), 0o700);
  if (existsSync(options.out)) throw new RuntimeError(`${options.out} already exists; name another file`);
  const partial = `${options.out}.partial`;
  rmSync(partial, { force: true });
  const nc = await connectJetstream(config);
  let writer: ArchiveWriter | undefined;
  try {
    const notes: string[] = [];
    const streams = config.jetstream.enabled ? await listStreams(nc) : [];
    if (!config.jetstream.enabled) notes.push("JetStream is off on this node ([jetstream] enabled = false): no streams are in this backup");
    assertRoom(options.out, streams.reduce((n, s) => n + (s.state.bytes ?? 0), 0));
    writer = new ArchiveWriter(partial);
    const out = writer;
    const backedUp: BackedUpStream[] = [];
    const files: ClusterFile[] = [];
    for (const [i, s] of streams.entries()) {
      const name = s.config.name;
      const entry = `streams/${String(i + 1).padStart(4, "0")}.snap`;
      options.onProgress?.({ stream: name, index: i + 1, total: streams.length, bytes: out.bytesWritten });
      out.begin(entry);
      let last = 0;
      const info = await snapshotStream(nc, name, (chunk) => {
        out.write(chunk);
        if (out.bytesWritten - last > 1024 * 1024) {
          last = out.bytesWritten;
          options.onProgress?.({ stream: name, index: i + 1, total: streams.length, bytes: out.bytesWritten });
        }
      });
      const written = out.end();
      const consumers = info.state.consumer_count ? await listConsumers(nc, name) : [];
      backedUp.push({ name, ...kindOfStream(name), entry, size: written.size, sha256: written.sha256, config: info.config, state: info.state, consumers });
    }
    addClusterFiles(config, out, options.passphrase, files, notes);
    notes.push("each stream is consistent on its own; streams were taken one after another, not at one instant");
    const manifest: Manifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      createdAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      node: config.node.name,
      ...(config.cluster ? { cluster: config.cluster.name } : {}),
      unibus: options.unibusVersion,
      streams: backedUp,
      files,
      notes,
    };
    const json = JSON.stringify(manifest, null, 2) + "\n";
    out.add(MANIFEST_ENTRY, json);
    out.add(MANIFEST_DIGEST_ENTRY, manifestDigest(json));
    options.onProgress?.({ index: streams.length, total: streams.length, bytes: out.bytesWritten });
    out.finish();
    const bytes = out.bytesWritten;
    writer = undefined;
    renameSync(partial, options.out);
    return { file: options.out, bytes, manifest };
  } catch (err) {
    writer?.abandon();
    rmSync(partial, { force: true });
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ENOSPC") throw new RuntimeError(`cannot write ${options.out}: the disk is full (df -h ${dirname(options.out)}); nothing was written`);
    if (e.code === "EACCES") throw new RuntimeError(`cannot write ${options.out}: permission denied (run it with sudo, or as the user the node runs as)`);
    throw err;
  } finally {
    await nc.close().catch(() => {});
  }
}
