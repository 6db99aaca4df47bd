/**
 * runtime-datagram.ts sends unix datagrams (sd_notify). Node's dgram has no
 * AF_UNIX, and Bun cannot send unix datagrams either, so this calls libc
 * through bun:ffi. libc is opened lazily, on the first notification, and only
 * when NOTIFY_SOCKET is set.
 */
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
