/**
 * pki-fixtures.ts holds what the PKI tests share: temp folders, a CA on disk,
 * file modes and a thin openssl runner.
 */
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createCa, writeCaFiles } from "../lib/pki/index.ts";

/** REPO is the repository root, where main.ts lives. */
export const REPO = join(import.meta.dir, "..");
/** TESTDATA is the folder of hand-made broken PEM inputs. */
export const TESTDATA = join(import.meta.dir, "testdata", "pki");
/** DAY is one day in milliseconds. */
export const DAY = 24 * 60 * 60 * 1000;

/** makeCaDir creates a CA in DIR/<sub> and returns its file paths. */
export async function makeCaDir(dir: string, sub: string, options: { name?: string; days?: number; now?: Date } = {}): Promise<{ dir: string; cert: string; key: string }> {
  const caDir = join(dir, sub);
  const files = await writeCaFiles(caDir, await createCa(options));
  return { dir: caDir, cert: files.certFile, key: files.keyFile };
}

/** mode returns a file's permission bits. */
export function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

/** openssl runs the openssl CLI and returns exit code and combined output. */
export function openssl(...args: string[]): { code: number; out: string } {
  const proc = Bun.spawnSync(["openssl", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: proc.exitCode ?? -1, out: proc.stdout.toString() + proc.stderr.toString() };
}

/** unibus runs `bun main.ts ARGS` in the repository and returns exit code, stdout and stderr. */
export function unibus(...args: string[]): { code: number; stdout: string; stderr: string } {
  const proc = Bun.spawnSync([join(REPO, "node_modules/.bin/bun"), "main.ts", ...args], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  return { code: proc.exitCode ?? -1, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

/** writeText writes a file with a given mode (for planting bad inputs). */
export function writeText(file: string, text: string, fileMode = 0o600): void {
  writeFileSync(file, text, { mode: fileMode });
}
