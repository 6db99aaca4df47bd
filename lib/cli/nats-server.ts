/**
 * nats-server.ts runs the embedded nats-server with the given arguments, the
 * way `k3s kubectl` runs its embedded tool: `unibus nats-server --version`,
 * `unibus nats-server -- -t -c FILE`. It extracts the binary into a data dir
 * (the config's, or --data-dir) exactly as a node start would.
 */
import { resolve } from "node:path";
import { loadConfig } from "../config/load.ts";
import { dataDirLayout } from "../data-dir.ts";
import { ensureEmbeddedNats } from "../natsd/binary.ts";
import { runForeground } from "../runtime-process.ts";
import { UsageError } from "../errors.ts";
import { parseCommand } from "./_flags.ts";

/** run extracts the embedded nats-server if needed, runs it, and passes its exit code on. */
export async function run(args: string[]): Promise<number> {
  // unibus's own flags come first; everything after them (or after `--`) goes to nats-server.
  let i = 0;
  while (i < args.length && /^--(config|data-dir)$|^-c$/.test(args[i]!)) i += 2;
  while (i < args.length && /^--(config|data-dir)=/.test(args[i]!)) i += 1;
  const own = args.slice(0, i);
  const passed = args[i] === "--" ? args.slice(i + 1) : args.slice(i);
  const { values } = parseCommand("nats-server", own);
  let dataDir: string;
  if (values["data-dir"]) dataDir = resolve(values["data-dir"]);
  else if (values.config) dataDir = loadConfig(values.config).node.dataDir;
  else throw new UsageError("unibus nats-server needs --config FILE or --data-dir DIR (where the binary is extracted)");
  const binary = await ensureEmbeddedNats(dataDirLayout(dataDir).bin);
  return runForeground([binary.path, ...(passed.length ? passed : ["--version"])]);
}
