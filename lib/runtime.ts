/**
 * runtime.ts is the only module that calls Bun-specific APIs (spawning,
 * embedded files, zstd). Everything else is plain TypeScript on web
 * standards and `node:` built-ins, so a port to another runtime touches one file.
 */
// The build writes these two files for the target being compiled (scripts/build.ts);
// `type: "file"` embeds them into the single executable.
import embeddedNatsPath from "../build/embed/nats-server.zst" with { type: "file" };
import embeddedMetaPath from "../build/embed/nats-server.meta" with { type: "file" };
import { constants as osConstants } from "node:os";
import { execCommand } from "./runtime-exec.ts";

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


/** ChildProcess is the part of a spawned process the supervisor needs. */
export interface ChildProcess {
  readonly pid: number;
  /** Resolves when the process ends, with its exit code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * spawnChild starts a supervised program in its own session, with piped
 * output and no stdin. The program receives SIGTERM from the kernel if unibus
 * dies (runtime-exec.ts), so it never outlives unibus, however unibus ends.
 */
export function spawnChild(cmd: string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}): ChildProcess {
  const proc = Bun.spawn(execCommand(cmd), {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: options.env ?? process.env,
    cwd: options.cwd,
    // Its own session: a Ctrl-C on the terminal reaches unibus only, which then
    // stops the child its own way (lame duck) instead of racing it.
    detached: true,
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

/**
 * runForeground runs a program on unibus's own terminal (stdin, stdout and
 * stderr inherited, no time limit) and resolves with its exit code.
 */
export async function runForeground(cmd: string[]): Promise<number> {
  const proc = Bun.spawn(cmd, { stdin: "inherit", stdout: "inherit", stderr: "inherit" });
  const forward = (signal: NodeJS.Signals) => () => proc.kill(signal);
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  try {
    const code = await proc.exited;
    return proc.signalCode ? 128 + (signalNumber(proc.signalCode) ?? 0) : code;
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  }
}

function signalNumber(name: string | number): number | undefined {
  return typeof name === "number" ? name : (osConstants.signals as Record<string, number>)[name];
}

/** runCommand runs a program to completion and returns its output; used for `nats-server -t` and `--version`. */
export async function runCommand(cmd: string[], options: { timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: options.timeoutMs ?? 15_000 });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** HttpServer is a running HTTP(S) listener; stop() closes it and its connections. */
export interface HttpServer {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * serveHttp serves a fetch handler (the admin app) on one address, over TLS
 * when given PEM files. It throws when the address cannot be bound.
 */
export function serveHttp(
  fetch: (request: Request) => Response | Promise<Response>,
  options: { hostname: string; port: number; tls?: { certFile: string; keyFile: string } },
): HttpServer {
  const server = Bun.serve({
    hostname: options.hostname,
    port: options.port,
    development: false,
    fetch,
    error: () => new Response("internal error\n", { status: 500, headers: { "content-type": "text/plain" } }),
    ...(options.tls ? { tls: { cert: Bun.file(options.tls.certFile), key: Bun.file(options.tls.keyFile) } } : {}),
  });
  return {
    port: server.port ?? options.port,
    stop: async () => { await server.stop(true); },
  };
}

// ---------------------------------------------------------------------------
// Unix datagrams (sd_notify). Node's dgram has no AF_UNIX, and Bun cannot
// send unix datagrams either, so this calls libc through bun:ffi. libc is
// opened lazily, on the first notification, and only when NOTIFY_SOCKET is set.

import { dlopen, FFIType } from "bun:ffi";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;
/** sizeof(struct sockaddr_un) on Linux: sa_family_t (2 bytes) + sun_path[108]. */
const SOCKADDR_UN_SIZE = 110;
const SUN_PATH_MAX = 108;

type LibC = ReturnType<typeof openLibC>;
let libc: LibC | null | undefined;

function openLibC() {
  return dlopen("libc.so.6", {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
  }).symbols;
}

function loadLibC(): LibC | null {
  if (libc === undefined) {
    try {
      libc = openLibC();
    } catch {
      libc = null; // not glibc (musl, another OS): notifications are off
    }
  }
  return libc;
}

/**
 * unixSockaddr encodes a struct sockaddr_un for a path socket ("/run/…",
 * NUL-terminated) or an abstract one ("@name" → leading NUL, no terminator),
 * and returns the address length to pass to the kernel; undefined when the
 * name does not fit.
 */
export function unixSockaddr(path: string): { addr: Uint8Array; len: number } | undefined {
  const abstract = path.startsWith("@");
  const name = new TextEncoder().encode(abstract ? path.slice(1) : path);
  // path sockets need room for the terminating NUL; abstract names need room for the leading one.
  if (name.length === 0 || name.length + 1 > SUN_PATH_MAX) return undefined;
  if (!abstract && name.includes(0)) return undefined;
  const addr = new Uint8Array(SOCKADDR_UN_SIZE);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true); // both targets (x64, arm64) are little-endian
  addr.set(name, abstract ? 3 : 2);
  return { addr, len: abstract ? 2 + 1 + name.length : 2 + name.length + 1 };
}

/**
 * sendUnixDatagram sends one datagram to a unix socket (a path, or an abstract
 * name starting with "@") the way sd_notify(3) does. It returns false on any
 * failure and never throws: a lost notification must not take the node down.
 */
export function sendUnixDatagram(path: string, message: string): boolean {
  try {
    const sockaddr = unixSockaddr(path);
    const c = sockaddr && loadLibC();
    if (!sockaddr || !c) return false;
    const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    try {
      const data = new TextEncoder().encode(message);
      // ptr arguments must not be empty buffers; an empty datagram is still legal.
      const buf = data.length > 0 ? data : new Uint8Array(1);
      const sent = c.sendto(fd, buf, data.length, MSG_NOSIGNAL, sockaddr.addr, sockaddr.len);
      return Number(sent) === data.length;
    } finally {
      c.close(fd);
    }
  } catch {
    return false;
  }
}
