/**
 * _password.ts is the one way a user entry's password is given in node.toml:
 * exactly one of password_hash (bcrypt), password_file (0600), password_env
 * or, on loopback-only nodes, an inline password. Client users and leaf-node
 * users share it.
 */
import { z } from "zod";
import { envName, filePath } from "./_parsed.ts";
import { BCRYPT_HINT, isBcryptHash } from "../auth/bcrypt.ts";
import { inlineSecret, readSecretEnv, readSecretFile, type ResolvedSecret } from "../auth/secret-source.ts";



/** passwordFields are the keys a user entry may give its password with. */
export const passwordFields = {
  password_hash: z.string({ error: `expected ${BCRYPT_HINT}` }).refine(isBcryptHash, { message: `expected ${BCRYPT_HINT}` }).optional(),
  password_file: filePath.optional(),
  password_env: envName.optional(),
};

/** PASSWORD_KEYS lists the password keys in the order they are reported. */
export const PASSWORD_KEYS = ["password_hash", "password_file", "password_env", "password"] as const;

/** RawPassword is a parsed user entry's password keys. */
export interface RawPassword { password_hash?: string | undefined; password_file?: string | undefined; password_env?: string | undefined; password?: string | undefined }

/** passwordSourceProblem says what is wrong with the number of password keys given, if anything. */
export function passwordSourceProblem(raw: RawPassword, allowed: readonly string[]): string | undefined {
  const given = allowed.filter((k) => (raw as Record<string, unknown>)[k] !== undefined);
  if (given.length === 1) return undefined;
  const list = allowed.join(", ");
  return given.length === 0 ? `expected a password: one of ${list}` : `expected exactly one of ${list}, got ${given.join(" and ")}`;
}

/** resolvePassword reads the one password source of a user entry. */
export function resolvePassword(raw: RawPassword, at: (p: string) => string, env: Record<string, string | undefined>): ResolvedSecret {
  if (raw.password_hash !== undefined) return { source: "inline bcrypt hash", key: "password_hash", value: raw.password_hash };
  if (raw.password_file !== undefined) return readSecretFile(at(raw.password_file), "password_file");
  if (raw.password_env !== undefined) return readSecretEnv(raw.password_env, "password_env", env);
  return inlineSecret(raw.password ?? "", "password");
}
