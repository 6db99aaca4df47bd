/**
 * size.ts reports the size of each built executable in dist/ beside the
 * Debian nats-server binary it embeds (the one `npm run build` fetched into vendor/).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./_servers.ts";
import { MiB, row, type Row } from "./_stats.ts";

const TARGETS = [
  { target: "linux-x64", arch: "amd64", maxMiB: 110 },
  { target: "linux-arm64", arch: "arm64", maxMiB: undefined },
];

/** measureSizes returns one row per target whose executable exists in dist/. */
export function measureSizes(): Row[] {
  const lock = JSON.parse(readFileSync(join(ROOT, "vendor", "nats-server.lock.json"), "utf8")) as { version: string };
  const rows: Row[] = [];
  for (const t of TARGETS) {
    const bin = join(ROOT, "dist", `unibus-${t.target}`);
    if (!existsSync(bin)) continue;
    const nats = join(ROOT, "vendor", `nats-server-${lock.version}-${t.arch}`);
    const r = row({
      id: `size_${t.target.replace("-", "_")}`, name: `binary size, ${t.target}`, unit: "MiB", better: "lower",
      unibus: [statSync(bin).size / MiB], bare: existsSync(nats) ? [statSync(nats).size / MiB] : null,
      note: `dist/unibus-${t.target} (${statSync(bin).size} bytes) vs Debian nats-server ${lock.version} ${t.arch}; one measurement (sizes do not vary)`,
      ...(t.maxMiB ? { target: `≤ ${t.maxMiB} MiB` } : {}),
    });
    if (t.maxMiB) r.pass = r.unibus!.median <= t.maxMiB;
    rows.push(r);
  }
  return rows;
}
