/**
 * _node-harness.ts starts a unibus node inside the test process (nats-server
 * as its real child, on real ports): the way nats-server's own tests start
 * servers in-process. Use it where the subject is the node's logic
 * (reload, status, control channel, membership decisions); use the compiled
 * binary where the subject is the executable (argv, exit codes, signals,
 * systemd, install.sh).
 *
 *   await using n = await startNode({ name: "a" });
 *   await n.node.status();
 *
 * The node runs the host's vendored nats-server (vendor/), not the embedded
 * one: build/embed holds whichever target was built last.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, type UnibusConfig } from "../lib/config/load.ts";
import { Logger, type LogLevel } from "../lib/log.ts";
import { ensureNatsBinary } from "../lib/natsd/binary.ts";
import { UnibusNode, type NodeHooks } from "../lib/node.ts";
import { embeddedNatsMeta } from "../lib/runtime-embedded.ts";
import { freePort, nodeToml, ROOT, tempDir, writeConfig } from "./_helpers.ts";

/** HOST_NATS is the vendored nats-server for this machine's CPU (scripts/fetch-nats.ts puts it there). */
export function hostNatsPath(): string {
  const lock = JSON.parse(readFileSync(join(ROOT, "vendor", "nats-server.lock.json"), "utf8")) as { version: string };
  const arch = process.arch === "arm64" ? "arm64" : "amd64";
  return join(ROOT, "vendor", `nats-server-${lock.version}-${arch}`);
}

/** hostNatsBinary is the node's natsBinary seam filled with the host's nats-server. */
export const hostNatsBinary: NonNullable<NodeHooks["natsBinary"]> = async (binDir) => {
  const bytes = new Uint8Array(readFileSync(hostNatsPath()));
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const binary = await ensureNatsBinary(binDir, { sha256, load: async () => bytes });
  return { ...binary, meta: { ...(await embeddedNatsMeta()), sha256 } };
};

/** hostNatsAvailable tells whether the harness can run here (the vendored binary exists). */
export function hostNatsAvailable(): boolean {
  return existsSync(hostNatsPath());
}

/** InProcessNode is a started node, its config file, its log and its folder; disposing stops it and removes the folder. */
export interface InProcessNode {
  node: UnibusNode;
  config: UnibusConfig;
  file: string;
  dir: string;
  /** Every log line so far. */
  log(): string;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * startNode writes a single-node config (extra TOML appended; or `toml`, a
 * whole config of the caller's) and starts it; resolves once nats-server is
 * ready. `env` is the environment the config's *_env keys read.
 */
export async function startNode(opts: { name: string; extra?: string; toml?: string; env?: Record<string, string>; level?: LogLevel; hooks?: NodeHooks; start?: boolean }): Promise<InProcessNode> {
  const dir = tempDir(`unibus-inproc-${opts.name}-`);
  const file = writeConfig(dir.path, opts.toml ?? nodeToml({ name: opts.name, client: await freePort(), monitor: await freePort(), ...(opts.extra ? { extra: opts.extra } : {}) }));
  const config = loadConfig(file, opts.env ?? {});
  const lines: string[] = [];
  const log = new Logger({ level: opts.level ?? "debug", format: "text", sink: (line) => { lines.push(line); } });
  const node = new UnibusNode(config, log, { natsBinary: hostNatsBinary, ...opts.hooks });
  try {
    if (opts.start !== false) await node.start();
  } catch (err) {
    await node.stop();
    dir[Symbol.dispose]();
    throw new Error(`${(err as Error).message}\n${lines.join("")}`);
  }
  return {
    node, config, file, dir: dir.path,
    log: () => lines.join(""),
    async [Symbol.asyncDispose]() {
      await node.stop();
      dir[Symbol.dispose]();
    },
  };
}
