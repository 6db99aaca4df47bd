/**
 * _parsed.ts turns a units.ts parser (value → result, or a string saying what
 * was expected) into a zod schema, so every table reports bad values alike.
 */
import { z } from "zod";
import { parseListen, type HostPort } from "./units.ts";

/** parsed wraps `parse` as a zod transform whose error reads "expected …". */
export function parsed<T>(parse: (v: unknown) => T | string) {
  return z.unknown().transform((value, ctx): T => {
    const result = parse(value);
    if (typeof result === "string") {
      ctx.addIssue({ code: "custom", message: `expected ${result}` });
      return z.NEVER;
    }
    return result;
  });
}

/** listenValue is a bind address ("127.0.0.1:4222", "[::1]:4222", "0.0.0.0:6222") in any table. */
export const listenValue = parsed<HostPort>(parseListen);

/** filePath is a path to a file; relative paths resolve against the config file's folder. */
export const filePath = z.string({ error: "expected a file path (string)" }).min(1, "expected a non-empty path");

/** ENV_NAME_HINT describes an environment variable name. */
export const ENV_NAME_HINT = "an environment variable name like UNIBUS_SENSOR_PASSWORD";

/** envName is the name of an environment variable a secret is read from. */
export const envName = z.string({ error: `expected ${ENV_NAME_HINT}` }).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: `expected ${ENV_NAME_HINT}` });
