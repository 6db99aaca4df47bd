/**
 * Two `unibus token create` run at the same moment once lost a token: both
 * read the store, each wrote it back with only its own new token, and the
 * second rename won. Every change of the store now holds a lock beside it;
 * here several real processes create and revoke tokens in the same store at
 * once, released together, and every token must be in the store afterwards.
 */
import { afterAll, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readTokens, tokenState, tokenStoreLockPath } from "../../lib/membership/token-store.ts";
import { ROOT, tempDir } from "../_helpers.ts";

const dir = tempDir("unibus-token-race-");
afterAll(() => dir[Symbol.dispose]());

const WRITERS = 10;
const EACH = 3;

/** writer runs one process that waits for the go file, then creates EACH tokens and revokes the first; it prints the ids it made. */
function writer(store: string, go: string): { ready: Promise<void>; done: Promise<string[]> } {
  const script = `
    import { existsSync } from "node:fs";
    import { createToken, revokeToken } from ${JSON.stringify(join(ROOT, "lib/membership/token-store.ts"))};
    process.stdout.write("ready\\n");
    const pause = new Int32Array(new SharedArrayBuffer(4));
    while (!existsSync(${JSON.stringify(go)})) Atomics.wait(pause, 0, 0, 2);
    const ids = [];
    for (let i = 0; i < ${EACH}; i++) ids.push(createToken(${JSON.stringify(store)}, "0".repeat(64), 3_600_000).record.id);
    revokeToken(${JSON.stringify(store)}, ids[0]);
    process.stdout.write("ids " + ids.join(",") + "\\n");
  `;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let loaded = (): void => {};
  const ready = new Promise<void>((resolve) => (loaded = resolve));
  child.stdout.on("data", (b: Buffer) => {
    out += b;
    if (out.startsWith("ready")) loaded();
  });
  child.stderr.on("data", (b: Buffer) => (err += b));
  const done = new Promise<string[]>((resolve, reject) =>
    child.on("exit", (code) => {
      loaded();
      const line = out.split("\n").find((l) => l.startsWith("ids "));
      if (code !== 0 || !line) reject(new Error(`writer exited ${code}: ${err || out}`));
      else resolve(line.slice(4).split(","));
    }),
  );
  return { ready, done };
}

test("ten processes creating and revoking join tokens at once lose none of them", async () => {
  const store = join(dir.path, "join-tokens.secret");
  const go = join(dir.path, "go");
  const writers = Array.from({ length: WRITERS }, () => writer(store, go));
  // Release them together, once every process is loaded and polling.
  await Promise.all(writers.map((w) => w.ready));
  writeFileSync(go, "");
  const made = (await Promise.all(writers.map((w) => w.done))).flat();
  const stored = readTokens(store);
  expect(made.length).toBe(WRITERS * EACH);
  expect(stored.map((t) => t.id).sort()).toEqual([...made].sort());
  const revoked = stored.filter((t) => tokenState(t) === "revoked").length;
  expect(revoked).toBe(WRITERS);
  expect(stored.filter((t) => tokenState(t) === "valid").length).toBe(WRITERS * (EACH - 1));
  expect(existsSync(tokenStoreLockPath(store))).toBe(true);
}, 90_000);
