/**
 * exec.ts runs a program on the machine (not in a box) and collects its
 * output: the one way the bed calls ip, mount and friends.
 */

/** RunResult is a finished program's exit code and output. */
export interface RunResult { code: number; stdout: string; stderr: string }

/**
 * run runs argv to completion. With check, a non-zero exit throws an error
 * that shows the command and its output.
 */
export async function run(argv: string[], options: { check?: boolean; stdin?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<RunResult> {
  const proc = Bun.spawn(argv, {
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe", stderr: "pipe",
    timeout: options.timeoutMs ?? 120_000,
    ...(options.env ? { env: options.env } : {}),
  });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const code = await proc.exited;
  const result = { code: proc.signalCode ? 128 : code, stdout, stderr };
  if (options.check && result.code !== 0) {
    throw new Error(`${argv.join(" ")} exited ${code}${proc.signalCode ? ` (${proc.signalCode})` : ""}:\n${stdout}${stderr}`);
  }
  return result;
}
