/**
 * runtime-flock.ts takes advisory file locks with flock(2) through bun:ffi
 * (Node and Bun have no flock). The kernel drops the lock when the process
 * ends however it ends, so a lock can never be left behind by a crash or a
 * power loss, and a reused pid can never look like its holder.
 */
import { closeSync, ftruncateSync, writeSync } from "node:fs";
import { dlopen, FFIType } from "bun:ffi";

const O_RDWR = 0o2;
const O_CREAT = 0o100;
/** The child (nats-server) must not inherit the lock's descriptor and keep the lock after unibus is gone. */
const O_CLOEXEC = 0o2000000;
const LOCK_EX = 2;
const LOCK_NB = 4;

let libc: { open: (path: Uint8Array, flags: number, mode: number) => number; flock: (fd: number, op: number) => number } | undefined;

function loadLibC() {
  libc ??= dlopen("libc.so.6", {
    open: { args: [FFIType.ptr, FFIType.i32, FFIType.u32], returns: FFIType.i32 },
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  }).symbols as unknown as typeof libc;
  return libc!;
}

/** FileLock is a held lock: write replaces the file's content, release unlocks it. */
export interface FileLock {
  write(text: string): void;
  release(): void;
}

/**
 * tryLockFile opens (creating, mode 0600) and exclusively locks a file
 * without waiting. It returns undefined when another open file holds the
 * lock, and throws when the file cannot be opened at all.
 */
export function tryLockFile(path: string): FileLock | undefined {
  const c = loadLibC();
  const fd = c.open(new TextEncoder().encode(`${path}\0`), O_RDWR | O_CREAT | O_CLOEXEC, 0o600);
  if (fd < 0) throw new Error(`cannot open lock file ${path}`);
  if (c.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    closeSync(fd);
    return undefined;
  }
  let open = true;
  return {
    write(text) {
      ftruncateSync(fd, 0);
      writeSync(fd, text, 0);
    },
    release() {
      if (!open) return;
      open = false;
      closeSync(fd); // closing the last descriptor drops the lock
    },
  };
}

/** LOCK_POLL_MS is how often lockFileWaiting tries again while another holder keeps the lock (milliseconds). */
const LOCK_POLL_MS = 15;

/**
 * lockFileWaiting takes the exclusive lock on `path` as tryLockFile does,
 * waiting (blocking this thread, in LOCK_POLL_MS steps) up to waitMs
 * milliseconds for another holder to let go. It exists for short
 * read-modify-write sections of a few milliseconds that several processes
 * may run at once (two `unibus token create` at the same moment). It
 * returns undefined when the lock is still held after waitMs, and throws
 * when the file cannot be opened at all.
 */
export function lockFileWaiting(path: string, waitMs: number): FileLock | undefined {
  const deadline = Date.now() + waitMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    const lock = tryLockFile(path);
    if (lock) return lock;
    if (Date.now() >= deadline) return undefined;
    Atomics.wait(pause, 0, 0, LOCK_POLL_MS);
  }
}
