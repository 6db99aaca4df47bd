/**
 * secret-source.ts reads a secret (a password, a leaf-node secret) from where
 * the config says it lives: a file that only its owner can read, or an
 * environment variable. The value never goes into an error message; only the
 * place it came from does.
 */
import { readFileSync, statSync } from "node:fs";
import { blockedFolder, exposedBits, serviceIdentity, unreadableByService } from "../fsutil.ts";

/** MIN_SECRET_LENGTH keeps secrets guessable only by brute force and long enough to redact reliably. */
export const MIN_SECRET_LENGTH = 8;

/** ResolvedSecret is a secret with the place it came from; `error` says why it could not be read. */
export interface ResolvedSecret {
  /** Where the value came from, safe to print: `file /etc/unibus/x.pass`, `env UNIBUS_X`, `inline`. */
  source: string;
  /** The config key it was given under (password_file, secret_env …), for error messages. */
  key: string;
  value?: string;
  error?: string;
}

/** readSecretFile reads a secret from a file that must not be readable by group or others (see exposedBits). */
export function readSecretFile(file: string, key: string): ResolvedSecret {
  const source = `file ${file}`;
  let mode: number;
  let exposed: number;
  let unreadable: string | undefined;
  try {
    const st = statSync(file);
    if (!st.isFile()) return { source, key, error: `expected a file holding the secret, ${file} is not a regular file` };
    mode = st.mode & 0o777;
    const service = serviceIdentity(file);
    exposed = exposedBits(st, service);
    unreadable = unreadableByService(st, file, service);
  } catch {
    return { source, key, error: blockedFolder(file) ?? `file not found: ${file}` };
  }
  if (unreadable) return { source, key, error: unreadable };
  const blocked = blockedFolder(file);
  if (blocked) return { source, key, error: blocked };
  if (exposed) {
    return { source, key, error: `expected a file only its owner can read (chmod 600 ${file}); it has mode ${mode.toString(8).padStart(4, "0")}` };
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    return { source, key, error: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  return checked({ source, key, value: text.replace(/\r?\n$/, "") });
}

/** readSecretEnv reads a secret from an environment variable that must be set and non-empty. */
export function readSecretEnv(name: string, key: string, env: Record<string, string | undefined>): ResolvedSecret {
  const source = `env ${name}`;
  const value = env[name];
  if (value === undefined || value === "") return { source, key, error: `environment variable ${name} is not set (or empty)` };
  return checked({ source, key, value });
}

/** inlineSecret wraps a secret written in the TOML itself. */
export function inlineSecret(value: string, key: string): ResolvedSecret {
  return checked({ source: "inline", key, value });
}

function checked(secret: ResolvedSecret): ResolvedSecret {
  const value = secret.value!;
  if (value.length < MIN_SECRET_LENGTH) {
    return { source: secret.source, key: secret.key, error: `expected a secret of at least ${MIN_SECRET_LENGTH} characters (from ${secret.source})` };
  }
  if (/[\r\n]/.test(value)) return { source: secret.source, key: secret.key, error: `expected a secret on one line (from ${secret.source})` };
  return secret;
}

/** redactedSecret is how `config check` shows a secret: where it comes from, never the value. */
export function redactedSecret(secret: ResolvedSecret): string {
  return /^(file|env) /.test(secret.source) ? `<redacted: from ${secret.source}>` : `<redacted: ${secret.source}>`;
}

/**
 * effectiveSecretValue is what `config check` prints under the secret's own
 * key: the file path or variable name it is read from (not secret), or a
 * redaction marker when the value itself was written in the TOML.
 */
export function effectiveSecretValue(secret: ResolvedSecret): string {
  if (secret.source.startsWith("file ")) return secret.source.slice("file ".length);
  if (secret.source.startsWith("env ")) return secret.source.slice("env ".length);
  return redactedSecret(secret);
}
