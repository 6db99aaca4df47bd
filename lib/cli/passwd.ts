/**
 * passwd.ts is `unibus passwd`: it reads a password from standard input and
 * prints its bcrypt hash for `password_hash` in [[client.users]], so the
 * password itself never has to be written into node.toml.
 */
import { text } from "node:stream/consumers";
import { BCRYPT_COST, hashPassword } from "../auth/bcrypt.ts";
import { MIN_SECRET_LENGTH } from "../auth/secret-source.ts";
import { UsageError } from "../errors.ts";
import { parseCommand } from "./_flags.ts";

/** run hashes the first line of stdin and prints the hash. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand("passwd", args);
  const cost = values.cost === undefined ? BCRYPT_COST : Number(values.cost);
  if (!Number.isInteger(cost) || cost < 4 || cost > 16) throw new UsageError(`--cost must be a whole number from 4 to 16, got "${values.cost}"`);
  if (process.stdin.isTTY) process.stderr.write("password (input is shown; end with Enter, then Ctrl-D): ");
  const password = (await text(process.stdin)).split(/\r?\n/)[0] ?? "";
  if (password.length < MIN_SECRET_LENGTH) throw new UsageError(`expected a password of at least ${MIN_SECRET_LENGTH} characters on standard input, e.g. printf '%s' "$PASSWORD" | unibus passwd`);
  process.stdout.write(`${hashPassword(password, cost)}\n`);
  return 0;
}
