/**
 * _stats.ts summarises repeated samples: median and spread (min–max, IQR),
 * and defines the Row every measurement module returns.
 */

/** Stats is the summary of one side's samples, kept with the samples themselves. */
export interface Stats {
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  n: number;
  samples: number[];
}

/** Better says which direction of a ratio is good: throughput "higher", times and sizes "lower". */
export type Better = "higher" | "lower";

/**
 * Row is one line of the results table: the same quantity measured for the
 * compiled unibus and for the bare nats-server in the same run.
 */
export interface Row {
  id: string;
  name: string;
  unit: string;
  better: Better;
  unibus: Stats | null;
  bare: Stats | null;
  /** unibus median / bare median, when both exist. */
  ratio: number | null;
  /** The target this row is judged against, in words, and whether the run met it. */
  target?: string;
  pass?: boolean;
  /** Anything a reader needs to interpret the row (client, payload, what was polled). */
  note?: string;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 1) return sorted[0]!;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** summarize turns samples into Stats; it throws on an empty list so a silent gap cannot pass. */
export function summarize(samples: number[]): Stats {
  if (samples.length === 0) throw new Error("no samples");
  const s = [...samples].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), min: s[0]!, max: s[s.length - 1]!, q1: quantile(s, 0.25), q3: quantile(s, 0.75), n: s.length, samples };
}

/** row builds a Row from both sides' samples and computes the ratio. */
export function row(fields: Omit<Row, "unibus" | "bare" | "ratio"> & { unibus?: number[] | null; bare?: number[] | null }): Row {
  const unibus = fields.unibus?.length ? summarize(fields.unibus) : null;
  const bare = fields.bare?.length ? summarize(fields.bare) : null;
  const ratio = unibus && bare && bare.median !== 0 ? unibus.median / bare.median : null;
  return { ...fields, unibus, bare, ratio };
}

/** MiB converts bytes (or kB·1024) to mebibytes. */
export const MiB = 1024 * 1024;
