/**
 * scripts/build.ts serializes builds with flock(2) (lib/runtime-flock.ts),
 * not a pid file: a build waits while another holds the lock, takes it as
 * soon as the holder dies however it dies, and a lock file left behind with
 * a pid that now belongs to another live process blocks nothing.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { lockBuild } from "../../scripts/build.ts";
import { ROOT, tempDir } from "../_helpers.ts";

describe("the build lock", () => {
  test("a build waits while another holds the lock and takes it once the holder is SIGKILLed", async () => {
    using dir = tempDir("unibus-build-lock-");
    const lock = join(dir.path, "build", ".lock");
    const holder = Bun.spawn([process.execPath, "-e", `
      import { mkdirSync } from "node:fs";
      import { tryLockFile } from ${JSON.stringify(join(ROOT, "lib", "runtime-flock.ts"))};
      mkdirSync(${JSON.stringify(join(dir.path, "build"))}, { recursive: true });
      if (!tryLockFile(${JSON.stringify(lock)})) process.exit(3);
      console.log("held");
      setInterval(() => {}, 1000);
    `], { stdout: "pipe", stderr: "inherit" });
    try {
      const reader = holder.stdout.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toContain("held");
      let taken = false;
      const waiting = lockBuild(lock, 20).then((release) => { taken = true; return release; });
      await new Promise((r) => setTimeout(r, 500));
      expect(taken).toBe(false);
      holder.kill("SIGKILL");
      const release = await waiting;
      expect(taken).toBe(true);
      release();
    } finally {
      holder.kill("SIGKILL");
      await holder.exited;
    }
  });

  test("a lock file naming a live process that holds no lock does not block a build", async () => {
    using dir = tempDir("unibus-build-lock-");
    const lock = join(dir.path, ".lock");
    writeFileSync(lock, String(process.pid)); // as if a dead build's pid had been reused by a live process
    const release = await lockBuild(lock, 20);
    release();
    const again = await lockBuild(lock, 20); // released: the next build takes it at once
    again();
  });
});
