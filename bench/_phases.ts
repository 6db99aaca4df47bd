/**
 * _phases.ts splits a unibus start into phases using the time= stamps of its
 * own log lines, so the report can name where start-up overhead goes
 * (runtime boot and config, certificate, binary check or extraction, nats-server).
 */
import { summarize } from "./_stats.ts";
import { readFileSync } from "node:fs";

/** PHASES are the log lines that end each phase, in order. */
const PHASES: { name: string; re: RegExp }[] = [
  { name: "boot+config", re: /msg="starting unibus"/ },
  { name: "certificate", re: /msg="(node certificate is valid|issued node certificate|renewed node certificate)/ },
  { name: "binary+spawn", re: /msg="Starting nats-server"/ },
  { name: "nats-server", re: /msg="Server is ready"/ },
];

/** phasesOf returns milliseconds per phase for one unibus start, or null when a line is missing. */
export function phasesOf(logFile: string, spawnedWall: number): Record<string, number> | null {
  const text = readFileSync(logFile, "utf8");
  const out: Record<string, number> = {};
  let prev = spawnedWall;
  for (const phase of PHASES) {
    const line = text.split("\n").find((l) => phase.re.test(l));
    const m = line && /time=(\S+)/.exec(line);
    if (!m) return null;
    const at = Date.parse(m[1]!);
    out[phase.name] = at - prev;
    prev = at;
  }
  return out;
}

/** describePhases turns per-start phases into "name ~N ms" text using the median of each phase. */
export function describePhases(all: Record<string, number>[]): string {
  if (all.length === 0) return "";
  return PHASES.map(({ name }) => {
    return `${name} ${summarize(all.map((p) => p[name]!)).median.toFixed(0)}`;
  }).join(", ") + " ms";
}
