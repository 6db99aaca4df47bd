/**
 * restore.ts puts streams from a backup file back into a running node's
 * cluster, all or some of them, and never leaves a half-restored box:
 *
 * 1. The whole file is verified first (every entry against the manifest's
 *    SHA-256); a damaged or cut-short file is refused before anything changes.
 * 2. Streams that exist already are refused, all of them named, unless
 *    overwrite is asked for; then nothing has changed either.
 * 3. Each stream is restored through JetStream's restore API and checked
 *    against the manifest (message count and last sequence). A stream that
 *    is overwritten is first snapshotted by the same API into an undo file,
 *    then deleted. nats-server cannot restore a snapshot under another name
 *    (it checks the name inside the snapshot), so "restore beside it, then
 *    swap" is not possible; the undo snapshot is the way back.
 * 4. When any step fails, the streams this run created are deleted and the
 *    overwritten ones are restored from their undo snapshots, so the box is
 *    as it was; the error says what failed and that it was rolled back.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import type { UnibusConfig } from "../config/load.ts";
import { dataDirLayout } from "../data-dir.ts";
import { RuntimeError, UsageError } from "../errors.ts";
import { MonitorClient } from "../natsd/monitor.ts";
import type { Jsz } from "../natsd/monitoring-types.ts";
import { ArchiveWriter, entryChunks, listArchive, readEntry } from "./archive.ts";
import { connectJetstream } from "./connect.ts";
import { verifyBackup, type BackedUpStream, type VerifiedBackup } from "./manifest.ts";
import { deleteStream, restoreStream, snapshotStream, streamInfo, type StreamInfo } from "./stream-snapshot.ts";

/** RestoreProgress is reported as the restore goes. */
export interface RestoreProgress { phase: "verify" | "restore" | "rollback"; stream?: string; index: number; total: number; bytes: number; totalBytes: number }

/** RestoreOptions choose what to restore and whether existing streams may be replaced. */
export interface RestoreOptions {
  /** Stream names or KV/object bucket names to restore; empty: every stream in the backup. */
  only?: string[];
  /** Replace streams that exist (each is kept in an undo snapshot until the restore succeeded). */
  overwrite?: boolean;
  onProgress?: (p: RestoreProgress) => void;
}

/** RestoredStream says what happened to one stream. */
export interface RestoredStream { name: string; kind: BackedUpStream["kind"]; bucket?: string; messages: number; replicas: number; replaced: boolean; note?: string }

/** RestoreResult lists the streams restored, and those left as they were with the reason. */
export interface RestoreResult { file: string; streams: RestoredStream[]; kept: { name: string; why: string }[] }

/** isMqttStream tells nats-server's own MQTT streams ($MQTT_sess, $MQTT_msgs, …), which it makes when MQTT is first used. */
export function isMqttStream(name: string): boolean {
  return name.startsWith("$MQTT_");
}

/** selectStreams picks the streams named (by stream or bucket name); unknown names are a usage error listing what the backup has. */
export function selectStreams(backup: VerifiedBackup, only: string[] | undefined): BackedUpStream[] {
  const all = backup.manifest.streams;
  if (!only?.length) return all;
  const picked: BackedUpStream[] = [];
  for (const name of only) {
    const s = all.find((x) => x.name === name) ?? all.find((x) => x.bucket === name);
    if (!s) throw new UsageError(`${backup.file} has no stream or bucket ${JSON.stringify(name)}; it has: ${all.map((x) => x.bucket ? `${x.bucket} (${x.kind})` : x.name).join(", ") || "no streams"}`);
    if (!picked.includes(s)) picked.push(s);
  }
  return picked;
}

/** clusterSize is how many JetStream servers can hold replicas here: the meta group's size, or 1 without a cluster. */
async function clusterSize(config: UnibusConfig): Promise<number> {
  try {
    const jsz = await new MonitorClient(config.monitor.listen.text).get<Jsz>("jsz");
    return Math.max(1, jsz.meta_cluster?.cluster_size ?? 1);
  } catch {
    return 1;
  }
}

interface Undo { name: string; file: string }

/**
 * restoreBackup restores from file into the cluster of the node described
 * by config. Throws a RuntimeError (file damaged, node unreachable, a stream
 * refused) after rolling back, or a UsageError (unknown name, existing
 * stream without overwrite) before changing anything.
 */
export async function restoreBackup(config: UnibusConfig, file: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const report = options.onProgress ?? (() => {});
  const backup = verifyBackup(file, (bytes, totalBytes) => report({ phase: "verify", index: 0, total: 0, bytes, totalBytes }));
  let selected = selectStreams(backup, options.only);
  const nc = await connectJetstream(config, "unibus-restore");
  const created: string[] = [];
  const undo: Undo[] = [];
  let undoDir: string | undefined;
  try {
    let existing: StreamInfo[] = [];
    for (const s of selected) {
      const info = await streamInfo(nc, s.name);
      if (info) existing.push(info);
    }
    // A whole-file restore leaves the MQTT streams the running node made for itself (it holds them open); naming one with --overwrite replaces it.
    const kept = !options.only?.length && !options.overwrite ? existing.filter((e) => isMqttStream(e.config.name)) : [];
    if (kept.length) {
      const names = new Set(kept.map((k) => k.config.name));
      selected = selected.filter((s) => !names.has(s.name));
      existing = existing.filter((e) => !names.has(e.config.name));
    }
    if (existing.length && !options.overwrite) {
      throw new RuntimeError(`refusing to overwrite ${existing.map((e) => `stream ${e.config.name} (${e.state.messages} messages)`).join(", ")}: ${existing.length === 1 ? "it exists" : "they exist"} in the running cluster; add --overwrite to replace ${existing.length === 1 ? "it" : "them"} with the backup's copy, or delete ${existing.length === 1 ? "it" : "them"} first. Nothing was changed`);
    }
    const size = await clusterSize(config);
    // nats-server refuses a consumer with more replicas than its stream, and cannot change a consumer inside a snapshot.
    const tooWide = selected.flatMap((s) => (s.consumers ?? []).filter((c) => c.replicas > size).map((c) => `consumer ${c.name} of stream ${s.name} (${c.replicas} replicas)`));
    if (tooWide.length) {
      throw new RuntimeError(`cannot restore ${tooWide.join(", ")} onto ${size} JetStream server${size === 1 ? "" : "s"}: JetStream keeps a consumer's replicas inside the snapshot and refuses more than its stream has. Restore into a cluster of at least ${Math.max(...selected.flatMap((s) => (s.consumers ?? []).map((c) => c.replicas)))} servers (join boxes first), or leave those streams out with --stream; before the next backup, let such consumers follow their stream (nats consumer edit STREAM NAME --replicas 0). Nothing was changed`);
    }
    const totalBytes = selected.reduce((n, s) => n + s.size, 0);
    let bytes = 0;
    const results: RestoredStream[] = [];
    for (const [i, s] of selected.entries()) {
      report({ phase: "restore", stream: s.name, index: i + 1, total: selected.length, bytes, totalBytes });
      const replaced = existing.some((e) => e.config.name === s.name);
      if (replaced) {
        undoDir ??= mkdtempSync(dataDirLayout(config.node.dataDir).restoreUndoPrefix);
        const undoFile = join(undoDir, `${s.name}.snap`);
        await keepUndo(nc, s.name, undoFile);
        undo.push({ name: s.name, file: undoFile });
        await deleteStream(nc, s.name);
      }
      const wanted = s.config.num_replicas ?? 1;
      const replicas = Math.min(wanted, size);
      const cfg = { ...s.config, num_replicas: replicas };
      const entry = backup.entries.get(s.entry)!;
      // Counted before the request: a restore that fails half-way may leave a stream behind.
      created.push(s.name);
      const info = await restoreStream(nc, cfg, s.state, entryChunks(file, entry), (n) => {
        bytes += n;
        report({ phase: "restore", stream: s.name, index: i + 1, total: selected.length, bytes, totalBytes });
      });
      if (info.state.messages !== s.state.messages || info.state.last_seq !== s.state.last_seq) {
        throw new RuntimeError(`stream ${s.name} came back with ${info.state.messages} messages up to sequence ${info.state.last_seq}; the backup holds ${s.state.messages} up to ${s.state.last_seq}`);
      }
      const mqttNote = replaced && isMqttStream(s.name) ? { note: `nats-server's MQTT reads its streams when it starts: restart unibus on every node (sudo systemctl restart unibus) so MQTT clients see the restored ${s.name}` } : {};
      results.push({ name: s.name, kind: s.kind, ...(s.bucket ? { bucket: s.bucket } : {}), messages: info.state.messages, replicas, replaced, ...mqttNote, ...(replicas < wanted ? { note: `${wanted} replicas in the backup, ${replicas} here (${size} JetStream server${size === 1 ? "" : "s"}); raise it once more servers joined: nats stream edit ${s.name.includes("$") ? `'${s.name}'` : s.name} --replicas ${wanted}` } : {}) });
    }
    return { file, streams: results, kept: kept.map((k) => ({ name: k.config.name, why: `nats-server's MQTT made it here already (${k.state.messages} messages); replace it with --stream ${k.config.name} --overwrite` })) };
  } catch (err) {
    if (created.length || undo.length) {
      report({ phase: "rollback", index: 0, total: created.length + undo.length, bytes: 0, totalBytes: 0 });
      const failures = await rollback(nc, created, undo);
      const what = (err as Error).message;
      if (failures.length) {
        throw new RuntimeError(`restore failed: ${what}; rolling back also failed: ${failures.join("; ")}${undoDir ? ` (the undo snapshots are kept in ${undoDir})` : ""}`);
      }
      if (undoDir) rmSync(undoDir, { recursive: true, force: true });
      undoDir = undefined;
      throw new RuntimeError(`restore failed: ${what}; rolled back: ${[...created.map((n) => `deleted ${n}`), ...undo.map((u) => `put back ${u.name}`)].join(", ")}; the cluster is as it was`);
    }
    throw err;
  } finally {
    if (undoDir) rmSync(undoDir, { recursive: true, force: true });
    await nc.close().catch(() => {});
  }
}

/** keepUndo snapshots an existing stream into a one-entry archive, its config and state in the entry name's place. */
async function keepUndo(nc: NatsConnection, name: string, file: string): Promise<void> {
  const writer = new ArchiveWriter(file);
  try {
    writer.begin("snapshot");
    const info = await snapshotStream(nc, name, (chunk) => writer.write(chunk));
    writer.end();
    writer.add("info.json", JSON.stringify(info));
    writer.finish();
  } catch (err) {
    writer.abandon();
    throw new RuntimeError(`cannot keep a copy of stream ${name} before replacing it: ${(err as Error).message}; nothing was changed for it`);
  }
}

/** rollback deletes what was created and puts the undo snapshots back; it returns what it could not do. */
async function rollback(nc: NatsConnection, created: string[], undo: Undo[]): Promise<string[]> {
  const failures: string[] = [];
  for (const name of [...created].reverse()) {
    await deleteStream(nc, name).catch((err: Error) => failures.push(`delete ${name}: ${err.message}`));
  }
  for (const u of undo) {
    try {
      const entries = listArchive(u.file);
      const snap = entries.find((e) => e.name === "snapshot")!;
      const infoEntry = entries.find((e) => e.name === "info.json")!;
      const info = JSON.parse(new TextDecoder().decode(readEntry(u.file, infoEntry))) as StreamInfo;
      await restoreStream(nc, info.config, info.state, entryChunks(u.file, snap));
    } catch (err) {
      failures.push(`put back ${u.name}: ${(err as Error).message}`);
    }
  }
  return failures;
}
