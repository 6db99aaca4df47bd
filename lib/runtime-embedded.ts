/**
 * runtime-embedded.ts reads the nats-server binary compiled into this
 * executable (Bun's embedded files, zstd). Bun-specific calls live only in
 * the lib/runtime-*.ts modules, one concern each (embedded binary, processes,
 * HTTP, unix datagrams, file locks, the exec shim), so a port to another
 * runtime touches those files and nothing else.
 */
// The build writes these two files for the target being compiled (scripts/build.ts);
// `type: "file"` embeds them into the single executable.
import embeddedNatsPath from "../build/embed/nats-server.zst" with { type: "file" };
import embeddedMetaPath from "../build/embed/nats-server.meta" with { type: "file" };

/** EmbeddedNatsMeta describes the nats-server binary compiled into this executable. */
export interface EmbeddedNatsMeta {
  /** nats-server version, e.g. "2.15.1". */
  version: string;
  /** Debian package version it came from, e.g. "2.15.1-1", or "local" for an override. */
  packageVersion: string;
  /** sha256 of the uncompressed binary: its content address on disk. */
  sha256: string;
  /** Debian architecture name: amd64 or arm64. */
  arch: string;
  /** Compression of the embedded bytes. */
  compression: "zstd" | "none";
  /** unibus version and target this executable was built as. */
  unibusVersion: string;
  target: string;
  /** When the executable was built (ISO 8601): the real time is certainly later. */
  builtAt?: string;
}

/** embeddedNatsMeta returns what the build recorded about the embedded nats-server. */
export async function embeddedNatsMeta(): Promise<EmbeddedNatsMeta> {
  return (await Bun.file(embeddedMetaPath).json()) as EmbeddedNatsMeta;
}

/** embeddedNatsBinary returns the uncompressed bytes of the embedded nats-server. */
export async function embeddedNatsBinary(meta: EmbeddedNatsMeta): Promise<Uint8Array> {
  const raw = new Uint8Array(await Bun.file(embeddedNatsPath).arrayBuffer());
  return meta.compression === "zstd" ? Bun.zstdDecompressSync(raw) : raw;
}
