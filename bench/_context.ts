/**
 * _context.ts holds what every measurement module shares: the run's options
 * (quick or full), a scratch folder, the CA made once with `unibus ca create`,
 * free ports, and the node.toml every unibus row starts from.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runUnibusCommand } from "./_servers.ts";

/** BenchContext is passed to every measurement module. */
export interface BenchContext {
  quick: boolean;
  /** Repetitions per measurement: 1 in quick mode, ≥5 in full mode. */
  reps: number;
  /** Scratch folder of this run, removed at the end. */
  dir: string;
  /** The cluster CA (ca.pem, ca-key.pem) created once for the run. */
  ca: { cert: string; key: string };
  /** say prints progress to stderr, so stdout carries only the table. */
  say(msg: string): void;
}

/** makeContext creates the scratch folder and the CA. */
export function makeContext(quick: boolean, repsOverride?: number): BenchContext {
  const dir = mkdtempSync(join(tmpdir(), "unibus-bench-"));
  const caDir = join(dir, "ca");
  const r = runUnibusCommand(["ca", "create", "--out", caDir, "--name", "unibus bench CA"]);
  if (r.code !== 0) throw new Error(`unibus ca create failed (${r.code}): ${r.out}`);
  const started = performance.now();
  return {
    quick,
    reps: repsOverride ?? (quick ? 1 : 5),
    dir,
    ca: { cert: join(caDir, "ca.pem"), key: join(caDir, "ca-key.pem") },
    say: (msg) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`),
  };
}

/** disposeContext removes the scratch folder. */
export function disposeContext(ctx: BenchContext): void {
  rmSync(ctx.dir, { recursive: true, force: true });
}

/** freePort asks the kernel for a port nobody listens on. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/** NodeSpec is what differs between the node.toml files of the rows. */
export interface NodeSpec {
  name: string;
  client: number;
  monitor: number;
  /** Issue the node certificate from the run's CA ([tls] ca_cert + ca_key). */
  tls?: boolean;
  /** jetstream.sync: "always" (unibus default) or an interval such as "2m" (nats default). */
  sync?: string;
  /** Port of the admin page when the build has one (default: a free port, never the shared 8480). */
  admin?: number;
  /** Extra TOML appended verbatim (e.g. a [cluster] table). */
  extra?: string;
}

/** writeNodeToml writes <folder>/node.toml with data_dir = "data" and returns the file, data dir and admin port. */
export async function writeNodeToml(ctx: BenchContext, folder: string, spec: NodeSpec): Promise<{ file: string; dataDir: string; admin?: number }> {
  mkdirSync(folder, { recursive: true });
  const lines = [
    "[node]", `name = "${spec.name}"`, 'data_dir = "data"',
    "[client]", `listen = "127.0.0.1:${spec.client}"`,
    "[monitor]", `listen = "127.0.0.1:${spec.monitor}"`,
    "[log]", 'level = "info"', 'format = "text"',
  ];
  if (spec.sync) lines.push("[jetstream]", `sync = "${spec.sync}"`);
  if (spec.tls) lines.push("[tls]", `ca_cert = "${ctx.ca.cert}"`, `ca_key = "${ctx.ca.key}"`);
  const admin = spec.admin ?? (await freePort()); // every node its own admin port: never the shared default
  if (admin !== undefined) lines.push("[admin]", `listen = "127.0.0.1:${admin}"`);
  if (spec.extra) lines.push(spec.extra);
  const file = join(folder, "node.toml");
  writeFileSync(file, lines.join("\n") + "\n");
  return { file, dataDir: join(folder, "data"), ...(admin !== undefined ? { admin } : {}) };
}
