#!/usr/bin/env bun
/**
 * main.ts turns argv into one command and its exit code. It stays tiny: the
 * command table is lib/cli/commands.ts, each command lives in lib/cli/,
 * errors are printed once here as `error: …`.
 */
import { describeError, ExitCode, UnibusError, UsageError } from "./lib/errors.ts";
import { findCommand, groupUsage, helpText, resolveCommand, usageOf, wantsHelp, type CommandName, type CommandSpec } from "./lib/cli/commands.ts";
import { COMMAND_MODULES } from "./lib/cli/command-modules.ts";
import { SYSLOG_PRIORITY, stderrIsJournal } from "./lib/log.ts";
import { EXEC_CHILD_COMMAND, execChildWithParentDeathSignal } from "./lib/runtime-exec.ts";
import { reexecLean } from "./lib/runtime-memory.ts";

async function main(argv: string[]): Promise<number> {
  if (argv[0] === EXEC_CHILD_COMMAND) execChildWithParentDeathSignal(argv.slice(1));
  // Bare `unibus` runs nothing, as caddy and k3s print their usage: by hand as root it would
  // start a second node on the installed service's config and data (root-owned files there).
  if (argv.length === 0) {
    throw new UsageError(`unibus needs a command; to run a node: unibus run --config FILE (the installed service: sudo systemctl start unibus, then sudo unibus status)\n\n${helpText()}`);
  }
  const { name, args } = resolveCommand(argv);
  if (name === "run") reexecLean(argv); // a long-running node idles smaller without the JIT tiers
  if (name === "help") {
    // `unibus help --help` asks for help about help: the same text, exit 0.
    if (wantsHelp(args)) args.splice(0, args.length);
    const topic = args.length ? findCommand(args.join(" ")) : undefined;
    const group = args.length === 1 ? groupUsage(args[0]!) : undefined;
    if (group) {
      process.stdout.write(group);
      return ExitCode.ok;
    }
    if (args.length && !topic) throw new UsageError(`unknown command "${args.join(" ")}"\n\n${helpText()}`);
    process.stdout.write(topic ? usageOf(topic) : helpText());
    return ExitCode.ok;
  }
  const spec = findCommand(name);
  const group = spec ? undefined : groupUsage(name);
  if (group) {
    // `unibus token`: the group needs a subcommand; --help asks for its usage.
    if (wantsHelp(args)) {
      process.stdout.write(group);
      return ExitCode.ok;
    }
    const what = args[0] === undefined ? `"unibus ${name}" needs a command` : `unknown command "${name} ${args[0]}"`;
    throw new UsageError(`${what}\n\n${group}`);
  }
  if (!spec) throw new UsageError(`unknown command "${argv.join(" ")}"\n\n${helpText()}`);
  if (wantsHelp(args)) {
    process.stdout.write(usageOf(spec));
    return ExitCode.ok;
  }
  return run(spec, args);
}

/** run loads and runs one command; a usage error ends with that command's usage. */
async function run(spec: CommandSpec, args: string[]): Promise<number> {
  try {
    return await (await COMMAND_MODULES[spec.name as CommandName]()).run(args);
  } catch (err) {
    if (err instanceof UsageError && !err.message.includes("usage: unibus")) err.message += `\n\n${usageOf(spec)}`;
    throw err;
  }
}

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (err) {
  // Under journald the line carries priority 3 (err), so `journalctl -p err` shows it.
  const text = `error: ${describeError(err)}`;
  process.stderr.write(`${stderrIsJournal() ? text.split("\n").map((l) => `<${SYSLOG_PRIORITY.error}>${l}`).join("\n") : text}\n`);
  code = err instanceof UnibusError ? err.exitCode : ExitCode.failure;
}
// Exit explicitly: a pending timer or keep-alive socket must not hold a finished command open.
process.exit(code);
