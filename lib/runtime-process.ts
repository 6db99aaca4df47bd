/**
 * runtime-process.ts starts programs with Bun.spawn: the supervised
 * nats-server child (through the exec shim of runtime-exec.ts, so it never
 * outlives unibus) and programs run in the foreground on unibus's terminal.
 */
import { constants as osConstants } from "node:os";
import { execCommand } from "./runtime-exec.ts";

/** ChildProcess is the part of a spawned process the supervisor needs. */
export interface ChildProcess {
  readonly pid: number;
  /** Resolves when the process ends, with its exit code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * spawnChild starts a supervised program in its own session, with piped
 * output and no stdin. The program receives SIGTERM from the kernel if unibus
 * dies (runtime-exec.ts), so it never outlives unibus, however unibus ends.
 */
export function spawnChild(cmd: string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}): ChildProcess {
  const proc = Bun.spawn(execCommand(cmd), {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: options.env ?? process.env,
    cwd: options.cwd,
    // Its own session: a Ctrl-C on the terminal reaches unibus only, which then
    // stops the child its own way (lame duck) instead of racing it.
    detached: true,
  });
  const exited = proc.exited.then(() => ({ code: proc.signalCode ? null : proc.exitCode, signal: proc.signalCode == null ? null : String(proc.signalCode) }));
  return {
    pid: proc.pid,
    exited,
    stdout: proc.stdout,
    stderr: proc.stderr,
    kill: (signal) => {
      try {
        proc.kill(signal);
      } catch {
        // already gone
      }
    },
  };
}

/**
 * runForeground runs a program on unibus's own terminal (stdin, stdout and
 * stderr inherited, no time limit) and resolves with its exit code.
 */
export async function runForeground(cmd: string[]): Promise<number> {
  const proc = Bun.spawn(cmd, { stdin: "inherit", stdout: "inherit", stderr: "inherit" });
  const forward = (signal: NodeJS.Signals) => () => proc.kill(signal);
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  try {
    const code = await proc.exited;
    return proc.signalCode ? 128 + (signalNumber(proc.signalCode) ?? 0) : code;
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  }
}

/** signalNumber maps a signal name to its number, for the shell-style 128+N exit code. */
function signalNumber(name: string | number): number | undefined {
  return typeof name === "number" ? name : (osConstants.signals as Record<string, number>)[name];
}
