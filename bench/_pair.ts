/**
 * _pair.ts runs one unibus node and one bare nats-server side by side for the
 * data-path rows: unibus from a node.toml, bare from the config unibus
 * rendered (only ports, store dir and pid file changed). Both stay up for all
 * repetitions, and each repetition alternates which side goes first.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { freePort, writeNodeToml, type BenchContext, type NodeSpec } from "./_context.ts";
import { bareConfigFrom, firstRoundTrip, natsBinaryIn, startBare, startUnibus, stop, type Proc } from "./_servers.ts";
import type { ClientResult } from "./_pubsub-client.ts";

/** Pair is a running unibus node and a running bare nats-server with the same config. */
export interface Pair {
  unibus: { proc: Proc; port: number; dataDir: string; monitor: number; admin?: number };
  bare: { proc: Proc; port: number; dir: string };
}

/** withPair starts both sides, runs fn, and always stops both. */
export async function withPair<T>(ctx: BenchContext, name: string, spec: Partial<NodeSpec>, fn: (pair: Pair) => Promise<T>): Promise<T> {
  const folder = join(ctx.dir, name);
  mkdirSync(folder, { recursive: true });
  const client = await freePort();
  const monitor = await freePort();
  const node = await writeNodeToml(ctx, join(folder, "unibus"), { name, client, monitor, ...spec });
  const u = startUnibus(node.file, join(folder, "unibus.log"));
  let b: Proc | undefined;
  try {
    await firstRoundTrip(u, client, spec.tls ? ctx.ca.cert : undefined);
    const bareDir = join(folder, "bare");
    const barePort = await freePort();
    const conf = bareConfigFrom(node.dataDir, bareDir, { client: barePort, monitor: await freePort() });
    b = startBare(natsBinaryIn(node.dataDir), conf, join(folder, "bare.log"));
    await firstRoundTrip(b, barePort, spec.tls ? ctx.ca.cert : undefined);
    return await fn({ unibus: { proc: u, port: client, dataDir: node.dataDir, monitor, ...(node.admin !== undefined ? { admin: node.admin } : {}) }, bare: { proc: b, port: barePort, dir: bareDir } });
  } finally {
    await stop(u);
    if (b) await stop(b);
  }
}

/** runClient runs bench/_pubsub-client.ts as a separate process and returns its result. */
export async function runClient(args: string[]): Promise<ClientResult> {
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "_pubsub-client.ts"), ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`client ${args.join(" ")} failed (${code}): ${err.trim() || out.trim()}`);
  const result = JSON.parse(out.trim().split("\n").pop()!) as ClientResult;
  if (result.errors.length) throw new Error(`client ${args.join(" ")} saw errors: ${result.errors.join("; ")}`);
  return result;
}

/** alternate runs one repetition on both sides, unibus first on even reps and bare first on odd ones. */
export async function alternate<T>(rep: number, unibus: () => Promise<T>, bare: () => Promise<T>): Promise<{ unibus: T; bare: T }> {
  if (rep % 2 === 0) {
    const u = await unibus();
    return { unibus: u, bare: await bare() };
  }
  const b = await bare();
  return { unibus: await unibus(), bare: b };
}
