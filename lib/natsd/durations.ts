/**
 * durations.ts reads the duration texts nats-server's monitoring endpoints
 * print: Go durations for RTTs ("1.234ms", "850µs", "2m3.5s") and its own
 * uptime format ("1y2d3h4m5s"). One parser for the admin page, the metrics
 * and `unibus status`.
 */

const UNIT_MS: Record<string, number> = {
  y: 365 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ns: 1e-6,
};

/** natsDurationMs returns the duration in milliseconds, or undefined when the text is not one. */
export function natsDurationMs(text: string | undefined): number | undefined {
  if (!text) return undefined;
  let total = 0;
  let matched = "";
  for (const m of text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|us|µs|μs|ns|y|d|h|m|s)/g)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched += m[0];
  }
  return matched && matched === text.trim() ? total : undefined;
}
