/**
 * `unibus passwd` turns a password on stdin into a bcrypt hash for
 * password_hash, and `unibus nkey gen` prints a matching user seed and
 * public key for [[client.nkeys]].
 */
import { describe, expect, test } from "bun:test";
import bcrypt from "bcryptjs";
import { fromPublic, fromSeed } from "@nats-io/nkeys";
import { BIN_X64, runUnibus } from "./_helpers.ts";

function passwd(input: string, ...args: string[]) {
  const proc = Bun.spawnSync([BIN_X64, "passwd", ...args], { stdin: new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe" });
  return { code: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

describe("credential helpers", () => {
  test("passwd prints a bcrypt hash of the first stdin line, and only the hash", () => {
    const out = passwd("correct horse battery\n");
    expect(out.code).toBe(0);
    const hash = out.stdout.trim();
    expect(hash).toMatch(/^\$2[ab]\$10\$[./A-Za-z0-9]{53}$/);
    expect(bcrypt.compareSync("correct horse battery", hash)).toBe(true);
    expect(bcrypt.compareSync("correct horse battery\n", hash)).toBe(false);
    expect(out.stdout + out.stderr).not.toContain("correct horse");
    expect(passwd("correct horse battery", "--cost", "6").stdout).toMatch(/^\$2[ab]\$06\$/);
  });

  test("passwd refuses a short password and a bad cost with exit 2", () => {
    const short = passwd("abc\n");
    expect(short.code).toBe(2);
    expect(short.stderr).toContain("at least 8 characters");
    expect(short.stdout).toBe("");
    const cost = passwd("long enough password\n", "--cost", "99");
    expect(cost.code).toBe(2);
    expect(cost.stderr).toContain("--cost");
  });

  test("nkey gen prints a user seed and the public key that belongs to it", async () => {
    const { code, stdout } = await runUnibus(["nkey", "gen"]);
    expect(code).toBe(0);
    const [seed, pub] = stdout.split("\n").filter((l) => l && !l.startsWith("#"));
    expect(seed).toMatch(/^SU[A-Z2-7]{56}$/);
    expect(pub).toMatch(/^U[A-Z2-7]{55}$/);
    expect(fromSeed(new TextEncoder().encode(seed)).getPublicKey()).toBe(pub!);
    expect(() => fromPublic(pub!)).not.toThrow();
    const again = await runUnibus(["nkey", "gen"]);
    expect(again.stdout).not.toContain(seed!);
  });
});
