import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { BIN_X64, RunningUnibus, freePort, nodeToml, pidsOf, runUnibus, tempDir, waitFor, writeConfig } from "./_helpers.ts";

const dir = tempDir("unibus-node-");
afterAll(() => dir[Symbol.dispose]());
const client = await freePort();
const monitor = await freePort();
const config = writeConfig(dir.path, nodeToml({ name: "test-node", client, monitor }));
const dataDir = join(dir.path, "data");
const servers = `127.0.0.1:${client}`;

function natsPids(): number[] {
  return pidsOf(join(dataDir, "bin", "nats-server-"));
}

async function kvRoundTrip(key: string, value?: string): Promise<string | undefined> {
  const nc = await connect({ servers, timeout: 5_000 });
  try {
    const kv = await new Kvm(nc).create("settings");
    if (value !== undefined) await kv.put(key, value);
    return (await kv.get(key))?.string();
  } finally {
    await nc.close();
  }
}

describe("a single node runs nats-server with JetStream and supervises it", () => {
  test("clients publish, subscribe and use a KV bucket; SIGTERM exits 0 leaving no nats-server", async () => {
    const node = new RunningUnibus(["--config", config]);
    await node.ready();
    const nc = await connect({ servers });
    const sub = nc.subscribe("greet.>", { max: 1 });
    nc.publish("greet.pi", "hello");
    for await (const m of sub) expect(m.string()).toBe("hello");
    await nc.close();
    expect(await kvRoundTrip("colour", "blue")).toBe("blue");
    // the rendered nats config and the binary are private to the node
    expect(readFileSync(join(dataDir, "nats-server.conf"), "utf8")).toContain('"server_name": "test-node"');
    expect((await Bun.file(join(dataDir, "nats-server.conf")).stat()).mode & 0o777).toBe(0o600);
    const bins = readdirSync(join(dataDir, "bin"));
    expect(bins).toHaveLength(1);
    expect((await Bun.file(join(dataDir, "bin", bins[0]!)).stat()).mode & 0o777).toBe(0o755);
    expect(natsPids()).toHaveLength(1);
    expect(await node.stop("SIGTERM")).toBe(0);
    expect(natsPids()).toEqual([]);
  });

  test("data survives a restart of unibus", async () => {
    await using node = new RunningUnibus(["--config", config]);
    await node.ready();
    expect(node.log).not.toContain("extracted nats-server"); // reused, not extracted again
    expect(await kvRoundTrip("colour")).toBe("blue");
  });

  test("a SIGKILLed nats-server is restarted and the KV data is still there", async () => {
    await using node = new RunningUnibus(["--config", config]);
    await node.ready();
    const [pid] = natsPids();
    expect(pid).toBeDefined();
    process.kill(pid!, "SIGKILL");
    await node.waitForLog(/nats-server exited unexpectedly; restarting/);
    await node.waitForLog(/nats-server restarted and ready/);
    const after = natsPids();
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(pid);
    expect(await kvRoundTrip("colour")).toBe("blue");
  });

  test("a SIGKILLed unibus does not leave nats-server running", async () => {
    const node = new RunningUnibus(["--config", config]);
    await node.ready();
    expect(natsPids()).toHaveLength(1);
    node.proc.kill("SIGKILL");
    await node.proc.exited;
    await waitFor("nats-server to go away with its parent", () => natsPids().length === 0, 10_000);
  });

  test("unibus outlives the shell that started it with nohup, and its nats-server still dies with it", async () => {
    // The way cron @reboot, rc.local and OpenRC start daemons: the launcher exits at once.
    const log = join(dir.path, "nohup.log");
    const launcher = Bun.spawnSync(["bash", "-c", `nohup ${BIN_X64} --config ${config} >${log} 2>&1 & echo $!`]);
    const pid = Number(launcher.stdout.toString().trim());
    expect(pid).toBeGreaterThan(1);
    try {
      await waitFor("unibus ready under nohup", () => existsSync(log) && readFileSync(log, "utf8").includes("unibus ready"), 30_000);
      await Bun.sleep(4_000); // the launcher is long gone; a unibus tied to it would be too
      expect(existsSync(`/proc/${pid}`)).toBe(true);
      expect(natsPids()).toHaveLength(1);
      expect(await kvRoundTrip("colour")).toBe("blue");
      process.kill(pid, "SIGKILL");
      await waitFor("nats-server to go away with its SIGKILLed parent", () => natsPids().length === 0, 10_000);
    } finally {
      try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
    }
  }, 60_000);

  test("a nats-server left by an earlier unibus is stopped before starting", async () => {
    // Simulate an orphan that escaped: start the extracted binary by hand with the rendered config.
    const bin = join(dataDir, "bin", readdirSync(join(dataDir, "bin"))[0]!);
    const orphan = Bun.spawn([bin, "-c", join(dataDir, "nats-server.conf")], { stdout: "ignore", stderr: "ignore" });
    await waitFor("orphan pid file", () => existsSync(join(dataDir, "nats-server.pid")));
    await using node = new RunningUnibus(["--config", config]);
    await node.ready();
    expect(node.log).toContain("stopped a nats-server left running by an earlier unibus");
    expect(orphan.killed || (await orphan.exited) !== undefined).toBe(true);
    expect(await kvRoundTrip("colour")).toBe("blue");
  });

  test("a corrupted cached nats-server binary is detected and replaced", async () => {
    const bin = join(dataDir, "bin", readdirSync(join(dataDir, "bin"))[0]!);
    truncateSync(bin, 1000);
    await using node = new RunningUnibus(["--config", config]);
    await node.ready();
    expect(node.log).toContain("replaced a corrupt cached nats-server binary");
    expect((await Bun.file(bin).stat()).size).toBeGreaterThan(1_000_000);
  });

  test("SIGHUP reloads a changed config, and a broken config is refused while the node keeps running", async () => {
    await using node = new RunningUnibus(["--config", config]);
    await node.ready();
    const original = readFileSync(config, "utf8");
    writeFileSync(config, original.replace("[client]", '[jetstream]\nmax_memory = "512MiB"\n[client]'));
    let mark = node.log.length;
    node.proc.kill("SIGHUP");
    await node.waitForLog(/configuration reloaded/, 10_000, mark);
    expect(readFileSync(join(dataDir, "nats-server.conf"), "utf8")).toContain(`"max_memory_store": ${512 * 1024 * 1024}`);
    writeFileSync(config, original.replace("[client]", '[jetstream]\nmax_memory = "plenty"\n[client]'));
    mark = node.log.length;
    node.proc.kill("SIGHUP");
    await node.waitForLog(/reload refused/, 10_000, mark);
    expect(node.log.slice(mark)).toContain("jetstream.max_memory");
    expect(await kvRoundTrip("colour")).toBe("blue");
    writeFileSync(config, original);
  });

  test("unibus reload waits for the outcome: exit 0 when applied, 1 with the reason when refused", async () => {
    await using node = new RunningUnibus(["--config", config]);
    await node.ready();
    const original = readFileSync(config, "utf8");
    try {
      writeFileSync(config, original.replace("[client]", '[jetstream]\nmax_memory = "300MiB"\n[client]'));
      const ok = await runUnibus(["reload", "--config", config]);
      expect(ok.stdout).toContain("reloaded");
      expect(ok.code).toBe(0);
      expect(readFileSync(join(dataDir, "nats-server.conf"), "utf8")).toContain(`"max_memory_store": ${300 * 1024 * 1024}`);
      // nats-server cannot move its monitoring port live: the node refuses, and so must the command.
      writeFileSync(config, original.replace(`127.0.0.1:${monitor}`, `127.0.0.1:${await freePort()}`));
      const refused = await runUnibus(["reload", "--config", config, "--pid", String(node.proc.pid)]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("reload refused");
      expect(refused.stderr).toContain("monitor.listen");
      // a file that does not parse is refused before the node is bothered, naming the key
      writeFileSync(config, original.replace("[client]", '[jetstream]\nmax_memory = "plenty"\n[client]'));
      const broken = await runUnibus(["reload", "--config", config]);
      expect(broken.code).toBe(2);
      expect(broken.stderr).toContain("jetstream.max_memory");
      expect(await kvRoundTrip("colour")).toBe("blue");
    } finally {
      writeFileSync(config, original);
    }
  });

  test("a second unibus on the same data dir is refused", async () => {
    await using node = new RunningUnibus(["--config", config]);
    await node.ready();
    const second = await runUnibus(["--config", config]);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain("is in use by another unibus");
  });

  test("nats-server failing at start is reported with its last output and exit 1, leaving nothing running", async () => {
    using other = tempDir("unibus-busy-");
    const blocker = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const busy = writeConfig(other.path, nodeToml({ name: "busy", client: blocker.port, monitor: await freePort() }));
      const res = await runUnibus(["--config", busy]);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain("nats-server exited during start");
      expect(res.stderr).toMatch(/address already in use/);
      expect(pidsOf(join(other.path, "data", "bin"))).toEqual([]);
    } finally {
      blocker.stop(true);
    }
  });

  test("SIGTERM during start-up stops cleanly: exit 0, no error, no nats-server left", async () => {
    // Right after "starting unibus" (signal handlers are set in the same tick), and a little later.
    for (const delayMs of [0, 15, 40]) {
      const node = new RunningUnibus(["--config", config]);
      await node.waitForLog(/starting unibus/, 10_000);
      await Bun.sleep(delayMs);
      expect(await node.stop("SIGTERM")).toBe(0);
      expect(node.log).not.toContain("error:");
      expect(node.log).not.toContain("unibus ready\"");
      await waitFor("no nats-server", () => natsPids().length === 0, 10_000);
    }
  });

  test("a second SIGINT forces exit", async () => {
    const node = new RunningUnibus(["--config", config]);
    await node.ready();
    node.proc.kill("SIGINT");
    node.proc.kill("SIGINT");
    const code = await node.stop("SIGINT");
    expect([0, 130]).toContain(code!);
    await waitFor("no nats-server", () => natsPids().length === 0, 10_000);
  });
});
