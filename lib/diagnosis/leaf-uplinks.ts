/**
 * leaf-uplinks.ts says which leaf uplinks ([[leafnodes.remotes]]) are up,
 * once for `unibus status`, the diagnosis, the page and /metrics.
 */
import type { HealthFacts } from "./facts.ts";

/** LeafUplink is one [[leafnodes.remotes]] entry and whether its connection is up. */
export interface LeafUplink { url: string; up: boolean; rtt?: string }

/**
 * leafUplinks pairs the configured remotes with the connections this node
 * dialed (/leafz's spokes), in order: nats does not say which remote a
 * connection belongs to, so N connections mean the first N remotes are up.
 */
export function leafUplinks(f: HealthFacts): LeafUplink[] {
  const dialed = f.leafs.filter((l) => l.solicited);
  return (f.config.leafnodes?.remotes ?? []).map((r, i) => ({ url: r.url.text, up: i < dialed.length, ...(dialed[i]?.rtt ? { rtt: dialed[i]!.rtt } : {}) }));
}
