/**
 * _table.ts formats the results as a fixed-width text table: median and
 * spread (min–max) per side, the unibus/bare ratio, and the target verdict.
 */
import type { Row, Stats } from "./_stats.ts";

function num(v: number, unit: string): string {
  if (unit === "msgs/s") return v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0);
  if (unit === "ms") return v >= 1000 ? `${(v / 1000).toFixed(2)}s` : v.toFixed(0);
  return v.toFixed(1);
}

function cell(s: Stats | null, unit: string): string {
  if (!s) return "—";
  if (s.n === 1) return num(s.median, unit);
  return `${num(s.median, unit)} [${num(s.min, unit)}–${num(s.max, unit)}]`;
}

/** formatTable renders rows as a table followed by numbered notes. */
export function formatTable(rows: Row[]): string {
  const head = ["measurement", "unit", "unibus median [min–max]", "bare nats-server", "ratio", "target", "ok"];
  const body = rows.map((r) => [
    r.name, r.unit,
    cell(r.unibus, r.unit),
    cell(r.bare, r.unit),
    r.ratio === null ? "—" : r.ratio.toFixed(3),
    r.target ?? "",
    r.pass === undefined ? "" : r.pass ? "yes" : "NO",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  const out = [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)];
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.name}: ${r.note}`);
  return [...out, "", "notes:", ...notes].join("\n");
}
