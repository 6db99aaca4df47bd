/**
 * format.ts renders numbers for people: bytes, rates, durations. The admin
 * page and the diagnosis's sentences use it; the JSON API keeps raw numbers.
 */

/** formatBytes prints 1536 as "1.5 KiB". */
export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** counted prints a count with its noun: counted(1, "stream") is "1 stream", counted(2, "stream") "2 streams" (plural given when not noun + "s"). */
export function counted(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/** formatCount prints 12345 as "12.3k". */
export function formatCount(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return "–";
  if (Math.abs(n) < 1000) return Number.isInteger(n) ? String(n) : n.toFixed(1);
  const units = ["k", "M", "G", "T"];
  let v = n;
  let i = -1;
  while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v.toFixed(v < 10 ? 1 : 0)}${units[i]}`;
}

/** formatSeconds prints 93784 as "1d 2h 3m". */
export function formatSeconds(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h ${m}m`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${Math.floor(s % 60)}s`;
  return `${Math.floor(s)}s`;
}
