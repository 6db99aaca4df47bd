/**
 * Every command's flags are declared once in COMMAND_TABLE: each declared
 * flag is accepted by the command's parser and printed in its --help and
 * synopsis, an undeclared flag is a usage error, and every command module
 * parses with its own row (no hand-written parseArgs options anywhere else).
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseCommand } from "../../lib/cli/_flags.ts";
import { COMMAND_TABLE, synopsisOf, usageOf, type CommandName, type CommandSpec } from "../../lib/cli/commands.ts";
import { UsageError } from "../../lib/errors.ts";

const table: readonly (CommandSpec & { name: CommandName })[] = COMMAND_TABLE;
const cliDir = join(import.meta.dir, "../../lib/cli");

describe("command flags come from one declaration", () => {
  for (const spec of table) {
    const flags = Object.entries(spec.flags);
    test(`"${spec.name}" accepts every flag it declares and its help names each one`, () => {
      const help = usageOf(spec);
      for (const [name, f] of flags) {
        const args = f.type === "string" ? [`--${name}`, "x"] : [`--${name}`];
        const { values } = parseCommand(spec.name, args) as { values: Record<string, unknown> };
        expect({ name, value: values[name] }).toEqual({ name, value: f.type === "string" ? (f.multiple ? ["x"] : "x") : true });
        if (f.short) {
          const short = parseCommand(spec.name, f.type === "string" ? [`-${f.short}`, "y"] : [`-${f.short}`]) as { values: Record<string, unknown> };
          expect(short.values[name]).toEqual(f.type === "string" ? (f.multiple ? ["y"] : "y") : true);
          expect(help).toContain(`-${f.short}, --${name}`);
        }
        expect(help).toContain(`--${name}`);
        expect(help).toContain(f.help.split("\n")[0]!);
        expect(synopsisOf(spec)).toContain(`--${name}`);
      }
    });

    test(`"${spec.name}" refuses a flag it does not declare, with a UsageError`, () => {
      expect(() => parseCommand(spec.name, ["--not-declared-anywhere"])).toThrow(UsageError);
      expect(() => parseCommand(spec.name, ["--not-declared-anywhere"])).toThrow(/not-declared-anywhere/);
      // A flag another command declares is no flag of this one.
      const foreign = table.flatMap((c) => Object.keys(c.flags)).find((f) => !(f in spec.flags));
      if (foreign) expect(() => parseCommand(spec.name, [`--${foreign}`, "x"])).toThrow(UsageError);
    });

    test(`"${spec.name}" takes positional arguments only when its synopsis names them`, () => {
      if (spec.args === undefined) expect(() => parseCommand(spec.name, ["stray"])).toThrow(UsageError);
      else expect(parseCommand(spec.name, ["stray"]).positionals).toEqual(["stray"]);
    });
  }

  test("every command with flags is parsed with its own declaration, and nothing else in lib/cli builds parseArgs options", () => {
    const sources = readdirSync(cliDir).filter((f) => f.endsWith(".ts")).map((f) => ({ file: f, text: readFileSync(join(cliDir, f), "utf8") }));
    const all = sources.map((s) => s.text).join("\n");
    for (const spec of table) {
      if (Object.keys(spec.flags).length === 0 && spec.name !== "nkey gen") continue;
      expect({ command: spec.name, parsed: all.includes(`parseCommand("${spec.name}"`) }).toEqual({ command: spec.name, parsed: true });
    }
    const handParsers = sources.filter((s) => s.file !== "_flags.ts" && /\bparseArgs\s*\(/.test(s.text)).map((s) => s.file);
    expect(handParsers).toEqual([]);
  });
});
