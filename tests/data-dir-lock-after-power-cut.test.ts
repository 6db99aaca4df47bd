/**
 * The data dir lock after a power cut: the pid a dead unibus left in
 * <data_dir>/unibus.pid belongs, after the reboot, to some other process
 * (on the bed it was a thread of the new unibus itself). The lock must not
 * believe it; only a live unibus holding the lock keeps a second one out.
 */
import { expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, nodeToml, RunningUnibus, runUnibus, tempDir, writeConfig } from "./_helpers.ts";

test("a pid left in the lock file by a unibus that lost power does not keep the next one out, even when that pid is alive and looks like unibus", async () => {
  using dir = tempDir("unibus-lock-");
  const config = writeConfig(dir.path, nodeToml({ name: "lock", client: await freePort(), monitor: await freePort() }));
  mkdirSync(join(dir.path, "data"), { recursive: true });
  // A live process whose command line says unibus, as after a reboot where the old pid was reused.
  const lookalike = Bun.spawn(["bash", "-c", "exec -a /usr/local/bin/unibus sleep 60"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  try {
    await Bun.sleep(100);
    writeFileSync(join(dir.path, "data", "unibus.pid"), `${lookalike.pid}\n`);
    await using node = new RunningUnibus(["--config", config]);
    await node.ready();
    expect(readFileSync(join(dir.path, "data", "unibus.pid"), "utf8").trim()).toBe(String(node.proc.pid));
    // The running one does keep a second one out.
    const second = await runUnibus(["--config", config]);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`is in use by another unibus (pid ${node.proc.pid})`);
  } finally {
    lookalike.kill("SIGKILL");
  }
});
