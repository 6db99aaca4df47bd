/**
 * runtime.ts is the only module that calls Bun-specific APIs (spawning,
 * embedded files, zstd). Everything else is plain TypeScript on web
 * standards and `node:` built-ins, so a port to another runtime touches one file.
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

/** zstdCompress compresses build inputs; the build uses it to shrink the embedded binary. */
export function zstdCompress(data: Uint8Array, level: number): Uint8Array {
  return Bun.zstdCompressSync(data, { level });
}

/** ChildProcess is the part of a spawned process the supervisor needs. */
export interface ChildProcess {
  readonly pid: number;
  /** Resolves when the process ends, with its exit code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  kill(signal: NodeJS.Signals): void;
}

/** spawnChild starts a program with piped output and no stdin. */
export function spawnChild(cmd: string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}): ChildProcess {
  const proc = Bun.spawn(cmd, {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  const exited = proc.exited.then(() => ({ code: proc.signalCode ? null : proc.exitCode, signal: proc.signalCode == null ? null : String(proc.signalCode) }));
  return {
    pid: proc.pid,
    exited,
    stdout: proc.stdout,
    stderr: proc.stderr,
    kill: (signal) => {
      try {
        proc.kill(signal);
      } catch {
        // already gone
      }
    },
  };
}

/** runCommand runs a program to completion and returns its output; used for `nats-server -t` and `--version`. */
export async function runCommand(cmd: string[], options: { timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: options.timeoutMs ?? 15_000 });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}
