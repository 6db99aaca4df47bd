#!/usr/bin/env bun
/**
 * main.ts turns argv into one command and its exit code. It stays tiny: each
 * command lives in lib/cli/, errors are printed once here as `error: …`.
 */
import { describeError, ExitCode, UnibusError } from "./lib/errors.ts";
import { COMMANDS, HELP, resolveCommand } from "./lib/cli/commands.ts";
import { SYSLOG_PRIORITY, stderrIsJournal } from "./lib/log.ts";
import { EXEC_CHILD_COMMAND, execChildWithParentDeathSignal } from "./lib/runtime-exec.ts";

async function main(argv: string[]): Promise<number> {
  if (argv[0] === EXEC_CHILD_COMMAND) execChildWithParentDeathSignal(argv.slice(1));
  const { name, args } = resolveCommand(argv);
  if (name === "help") {
    process.stdout.write(HELP);
    return ExitCode.ok;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`error: unknown command "${argv.join(" ")}"\n\n${HELP}`);
    return ExitCode.usage;
  }
  const command = await load();
  return command.run(args);
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
