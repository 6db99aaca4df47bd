/**
 * Progress reports long-running build steps on a terminal (a rewritten line)
 * and stays quiet but for start/finish lines when output is a file or CI log.
 */
export class Progress {
  #tty = Boolean(process.stderr.isTTY);
  #last = 0;

  /** step prints the start of a step. */
  step(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  /** update rewrites the current line on a terminal, at most ten times a second. */
  update(text: string): void {
    if (!this.#tty) return;
    const now = Date.now();
    if (now - this.#last < 100) return;
    this.#last = now;
    process.stderr.write(`\r\x1b[2K${text}`);
  }

  /** done ends an updated line. */
  done(text: string): void {
    if (this.#tty) process.stderr.write(`\r\x1b[2K`);
    process.stderr.write(`${text}\n`);
  }
}

/** formatBytes renders a byte count for people. */
export function formatBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}
