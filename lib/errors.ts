/**
 * ExitCode names the process exit codes unibus uses, so every command and
 * test agrees on what a number means.
 */
export const ExitCode = {
  ok: 0,
  /** A runtime failure: nats-server would not start, a file could not be written. */
  failure: 1,
  /** Bad usage or bad configuration: nothing was started. */
  usage: 2,
  /**
   * The config (or the folder holding it) cannot be read by this user: not an
   * invalid config (2), and not a verdict (status's 3 and 4). 77 is EX_NOPERM
   * of sysexits(3), which scripts and probes know as "permission denied".
   */
  noPermission: 77,
  /** The user interrupted twice and unibus exited without waiting. */
  forced: 130,
} as const;

/** UnibusError is the base of every error unibus reports to a user: it carries an exit code. */
export class UnibusError extends Error {
  override name = "UnibusError";
  readonly exitCode: number = ExitCode.failure;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** UsageError reports a bad command line: exit code 2. */
export class UsageError extends UnibusError {
  override name = "UsageError";
  override readonly exitCode: number = ExitCode.usage;
}

/**
 * RefusedError is a command refusing because of the cluster's state, not its
 * command line (`unibus recover` while a meta leader exists): exit code 2 like
 * a usage error, but without the command's usage after it, which buried the
 * reason on the bed.
 */
export class RefusedError extends UnibusError {
  override name = "RefusedError";
  override readonly exitCode: number = ExitCode.usage;
}

/**
 * ConfigError reports invalid input files (TOML, PEM, secrets): exit code 2,
 * and it promises that nothing was started or written.
 */
export class ConfigError extends UnibusError {
  override name = "ConfigError";
  override readonly exitCode: number = ExitCode.usage;
}

/** PermissionError reports a config this user may not read (run it with sudo): exit code 77. */
export class PermissionError extends UnibusError {
  override name = "PermissionError";
  override readonly exitCode: number = ExitCode.noPermission;
}

/** RuntimeError reports a failure while doing work (spawning, writing, waiting): exit code 1. */
export class RuntimeError extends UnibusError {
  override name = "RuntimeError";
}

/** describeError renders any thrown value as one line for a user, with its causes. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    let text = err.message;
    let cause = err.cause;
    while (cause instanceof Error && !text.includes(cause.message)) {
      text += `: ${cause.message}`;
      cause = cause.cause;
    }
    return text;
  }
  return String(err);
}
