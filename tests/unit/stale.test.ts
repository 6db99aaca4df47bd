/**
 * Stale-child clean-up and the data-dir lock: the kernel's flock decides who
 * owns a data dir (a pid reused after a power loss cannot block a start),
 * and a stale nats-server that exits between the check and the signal, or
 * that unibus may not signal, ends in a clear outcome instead of a raw error.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lockDataDir, stopStaleNats } from "../../lib/natsd/stale.ts";
import { ConfigError, RuntimeError } from "../../lib/errors.ts";
import { tempDir } from "../_helpers.ts";

const dir = tempDir("unibus-stale-");
afterAll(() => dir[Symbol.dispose]());

describe("data dir lock", () => {
  test("a lock file naming a live process called unibus (a pid reused after power loss) does not block a start", async () => {
    const lockFile = join(dir.path, "reused.pid");
    const other = Bun.spawn(["bash", "-c", "exec -a unibus sleep 30"], { stdout: "ignore", stderr: "ignore" });
    try {
      await Bun.sleep(100);
      expect(readFileSync(`/proc/${other.pid}/cmdline`, "utf8")).toStartWith("unibus");
      writeFileSync(lockFile, `${other.pid}\n`);
      const lock = lockDataDir(lockFile, dir.path);
      expect(readFileSync(lockFile, "utf8")).toBe(`${process.pid}\n`);
      lock.release();
    } finally {
      other.kill("SIGKILL");
    }
  });

  test("a data dir held by a running unibus is refused, naming its pid; after release it is free again", () => {
    const lockFile = join(dir.path, "held.pid");
    const first = lockDataDir(lockFile, dir.path);
    let err: unknown;
    try {
      lockDataDir(lockFile, dir.path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(`data dir ${dir.path} is in use by another unibus (pid ${process.pid}); stop it first or choose another [node] data_dir`);
    first.release();
    expect(readFileSync(lockFile, "utf8")).toBe(""); // `unibus reload` finds no pid to signal
    lockDataDir(lockFile, dir.path).release();
  });

  test("a lock held by another process is refused; its death frees it", async () => {
    const lockFile = join(dir.path, "other.pid");
    const holder = Bun.spawn(["flock", "-n", "-o", lockFile, "sleep", "30"], { stdout: "ignore", stderr: "ignore" });
    await Bun.sleep(200);
    expect(() => lockDataDir(lockFile, dir.path)).toThrow(/is in use by another unibus/);
    holder.kill("SIGKILL");
    await holder.exited;
    lockDataDir(lockFile, dir.path).release();
  });
});

describe("stale nats-server", () => {
  async function staleChild() {
    const binDir = join(dir.path, `bin-${crypto.randomUUID()}`);
    mkdirSync(binDir);
    const exe = join(binDir, "nats-server-0123abcd");
    copyFileSync("/bin/sleep", exe);
    const { chmodSync } = await import("node:fs");
    chmodSync(exe, 0o755);
    const proc = Bun.spawn([exe, "30"], { stdout: "ignore", stderr: "ignore" });
    const pidFile = join(dir.path, `nats-${proc.pid}.pid`);
    writeFileSync(pidFile, `${proc.pid}\n`);
    await Bun.sleep(50);
    return { binDir, pidFile, proc };
  }

  test("one of our binaries left running is stopped", async () => {
    const { binDir, pidFile, proc } = await staleChild();
    expect(await stopStaleNats(pidFile, binDir)).toBe(proc.pid);
    expect(proc.signalCode ?? (await proc.exited, proc.signalCode)).toBe("SIGTERM");
  });

  test("a child that exits between the check and the signal (ESRCH) is simply gone", async () => {
    const { binDir, pidFile, proc } = await staleChild();
    const gone = Object.assign(new Error("kill ESRCH"), { code: "ESRCH" });
    try {
      expect(await stopStaleNats(pidFile, binDir, () => { throw gone; })).toBe(proc.pid);
    } finally {
      proc.kill("SIGKILL");
    }
  });

  test("a child unibus may not signal (EPERM) is a clear runtime error, not a raw one", async () => {
    const { binDir, pidFile, proc } = await staleChild();
    const denied = Object.assign(new Error("kill EPERM"), { code: "EPERM" });
    try {
      const err = await stopStaleNats(pidFile, binDir, () => { throw denied; }).then(() => undefined, (e: Error) => e);
      expect(err).toBeInstanceOf(RuntimeError);
      expect(err!.message).toBe(`cannot stop the nats-server (pid ${proc.pid}) that an earlier unibus left running on this data dir: permission denied; stop it as its owner, then start unibus again`);
    } finally {
      proc.kill("SIGKILL");
    }
  });
});
