/**
 * After an unclean stop, nats-server rebuilds its streams' indexes before
 * JetStream is ready; on a slow board that takes minutes. unibus used to
 * SIGKILL it after 120 s, and under the unit's Restart=on-failure the restore
 * began again forever (nats-server#6313's pattern). Here a standalone node's
 * nats-server restores several streams with its CPU throttled by a control
 * group; unibus must wait, say what it is doing (log, `unibus status`), and
 * come up with every message.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { BIN_X64, RunningUnibus, binaryExists, freePort, nodeToml, pidsOf, prerequisite, runUnibus, tempDir, waitFor, writeConfig } from "./_helpers.ts";
import { CpuThrottle } from "./cpu-throttle.ts";

const STREAMS = 4;
/** Enough that the throttled restore takes about 25 s on this machine kind: over twice the 10 s after which unibus reports a start still under way, with room for a status run during it. */
const PER_STREAM = 90_000;
/** A fake systemd: prints each datagram sent to $NOTIFY_SOCKET as one JSON line. */
const LISTENER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0" + sys.argv[1][1:])
print(json.dumps({"bound": True}), flush=True)
while True:
    print(json.dumps({"msg": s.recv(65536).decode()}), flush=True)
`;

/** The share of one CPU nats-server gets while it restores. */
const CPU_PERCENT = 1;

const dir = tempDir("unibus-slow-restore-");
afterAll(() => dir[Symbol.dispose]());

describe("a slow JetStream restore after an unclean stop", () => {
  const ok = prerequisite(binaryExists(BIN_X64), "dist/unibus-linux-x64 (npx bun scripts/build.ts)")
    && prerequisite(CpuThrottle.available(), "root and a cgroup cpu controller (cgroup v2 cpu.max or v1 cpu.cfs_quota_us)");
  test.skipIf(!ok)("is awaited and reported as restoring, never killed; every message is back", async () => {
    const client = await freePort();
    const monitor = await freePort();
    // Filled quickly (no fsync per message); what matters is the stale index an unclean stop leaves.
    const config = writeConfig(dir.path, nodeToml({ name: "slow-pi", client, monitor, extra: '[jetstream]\nsync = "2m"\n' }));
    const dataDir = join(dir.path, "data");
    const servers = `127.0.0.1:${client}`;

    const first = new RunningUnibus(["--config", config]);
    await first.ready();
    const nc = await connect({ servers });
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const body = new Uint8Array(128).fill(120);
    for (let s = 1; s <= STREAMS; s++) {
      await jsm.streams.add({ name: `S${s}`, subjects: [`s${s}.>`] });
      for (let i = 0; i < PER_STREAM - 1; i++) {
        nc.publish(`s${s}.m`, body);
        if (i % 1_000 === 999) await nc.flush();
      }
      await js.publish(`s${s}.m`, body);
      await waitFor(`stream S${s} to hold ${PER_STREAM} messages`, async () => (await jsm.streams.info(`S${s}`)).state.messages === PER_STREAM, 60_000);
    }
    await nc.close();
    // Unclean: unibus and nats-server die at once, as in a power cut (the page cache survives; the indexes are stale).
    const natsPid = Number(readFileSync(join(dataDir, "nats-server.pid"), "utf8"));
    process.kill(natsPid, "SIGKILL");
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    await waitFor("the killed nats-server to be gone", () => pidsOf(join(dataDir, "bin")).length === 0, 10_000);
    // A power cut can leave the streams' index files behind the blocks (written lazily); without them
    // nats-server rebuilds each stream's state by reading every message block, which is the slow restore.
    for (let s = 1; s <= STREAMS; s++) rmSync(join(dataDir, "jetstream", "$G", "streams", `S${s}`, "msgs", "index.db"), { force: true });

    using throttle = new CpuThrottle("unibus-slow-restore", CPU_PERCENT);
    const socket = `@unibus-slow-restore-${process.pid}`;
    const systemd = Bun.spawn(["python3", "-c", LISTENER, socket], { stdout: "pipe", stderr: "inherit" });
    let notified = "";
    void (async () => { for await (const chunk of systemd.stdout) notified += new TextDecoder().decode(chunk); })();
    await waitFor("the fake systemd socket", () => notified.includes('"bound"'), 10_000);
    const second = new RunningUnibus(["--config", config], { NOTIFY_SOCKET: socket });
    try {
      // nats-server writes its pid file before it enables JetStream; from there on it runs throttled.
      const pidFile = join(dataDir, "nats-server.pid");
      let child = 0;
      await waitFor("the new nats-server's pid file", () => {
        if (!existsSync(pidFile)) return false;
        const pid = Number(readFileSync(pidFile, "utf8"));
        if (!pid || pid === natsPid) return false;
        child = pid;
        return true;
      }, 30_000, 5);
      throttle.add(child);
      const t0 = Date.now();
      await second.waitForLog(/nats-server is still starting: restoring JetStream \(stream S\d, \d of 4\)/, 120_000);
      const status = await runUnibus(["status", "--config", config], { timeoutMs: 60_000 });
      const said = status.stdout + status.stderr;
      expect(said).toMatch(/restoring JetStream \(stream S\d, \d of 4\)/);
      expect(said).not.toContain("hung");
      expect(said).toContain("do not restart it");
      console.log(said.split("\n")[0]);
      await second.ready(900_000);
      const restoreMs = Date.now() - t0;
      // systemd was told what happens and given more time while it moved, before READY=1.
      const datagrams = notified.split("\n").filter((l) => l.startsWith('{"msg"')).map((l) => (JSON.parse(l) as { msg: string }).msg);
      const ready = datagrams.findIndex((m) => m.split("\n").includes("READY=1"));
      const starting = datagrams.findIndex((m) => /STATUS=nats-server is starting: restoring JetStream \(stream S\d, \d of 4\)/.test(m));
      expect(starting).toBeGreaterThanOrEqual(0);
      expect(starting).toBeLessThan(ready);
      expect(datagrams[starting]).toMatch(/^EXTEND_TIMEOUT_USEC=\d+$/m);
      expect(throttle.throttledPeriods()).toBeGreaterThan(0); // the CPU limit really held nats-server back
      console.log(`restore under ${CPU_PERCENT}% of a CPU: ${Math.round(restoreMs / 1000)} s (${STREAMS} × ${PER_STREAM} messages)`);
      expect(second.log).toContain("nats-server finished starting");
      expect(second.log).not.toContain("did not become ready");
      expect(Number(readFileSync(pidFile, "utf8"))).toBe(child); // the same nats-server, never killed
      expect(existsSync(join(dataDir, "start-progress.json"))).toBe(false);
      const nc2 = await connect({ servers });
      const jsm2 = await jetstreamManager(nc2);
      for (let s = 1; s <= STREAMS; s++) expect((await jsm2.streams.info(`S${s}`)).state.messages).toBe(PER_STREAM);
      await nc2.close();
    } finally {
      await second.stop("SIGTERM", 120_000);
      systemd.kill();
    }
  }, 1_200_000);
});
