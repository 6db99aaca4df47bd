/**
 * binary.ts makes sure the embedded nats-server exists on disk as
 * `<data_dir>/bin/nats-server-<sha256>`: content-addressed, verified at every
 * start, replaced when a cached copy is corrupt or truncated.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, unlinkSync, mkdirSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../fsutil.ts";
import { RuntimeError } from "../errors.ts";
import { embeddedNatsBinary, embeddedNatsMeta, type EmbeddedNatsMeta } from "../runtime-embedded.ts";

/** NatsBinarySource is where the bytes come from: the embedded payload in production. */
export interface NatsBinarySource {
  sha256: string;
  load(): Promise<Uint8Array>;
}

/** NatsBinary reports the path and whether this start had to (re)write it. */
export interface NatsBinary { path: string; extracted: boolean; replacedCorrupt: boolean }

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** ensureNatsBinary extracts the binary when missing or corrupt and returns its path. */
export async function ensureNatsBinary(binDir: string, source: NatsBinarySource): Promise<NatsBinary> {
  const path = join(binDir, `nats-server-${source.sha256}`);
  let replacedCorrupt = false;
  if (existsSync(path)) {
    if (sha256(readFileSync(path)) === source.sha256) {
      chmodSync(path, 0o755);
      return { path, extracted: false, replacedCorrupt };
    }
    replacedCorrupt = true;
  }
  mkdirSync(binDir, { recursive: true, mode: 0o700 });
  const bytes = await source.load();
  const got = sha256(bytes);
  if (got !== source.sha256) {
    throw new RuntimeError(`embedded nats-server is damaged: sha256 ${got}, expected ${source.sha256}; rebuild or re-download unibus`);
  }
  writeFileAtomic(path, bytes, 0o755);
  // Older versions' binaries are dead weight on a small SD card.
  for (const name of readdirSync(binDir)) {
    if (name.startsWith("nats-server-") && name !== `nats-server-${source.sha256}` && !name.endsWith(".tmp")) {
      try { unlinkSync(join(binDir, name)); } catch { /* in use or gone */ }
    }
  }
  return { path, extracted: true, replacedCorrupt };
}

/**
 * ensureEmbeddedNats extracts this executable's own nats-server into a data
 * dir (content-addressed, verified): what a node start and `unibus
 * nats-server` both need.
 */
export async function ensureEmbeddedNats(binDir: string): Promise<NatsBinary & { meta: EmbeddedNatsMeta }> {
  const meta = await embeddedNatsMeta();
  const binary = await ensureNatsBinary(binDir, { sha256: meta.sha256, load: () => embeddedNatsBinary(meta) });
  return { ...binary, meta };
}
