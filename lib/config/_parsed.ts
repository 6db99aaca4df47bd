/**
 * _parsed.ts turns a units.ts parser (value → result, or a string saying what
 * was expected) into a zod schema, so every table reports bad values alike.
 */
import { z } from "zod";

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
