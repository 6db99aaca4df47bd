/**
 * model.ts turns one snapshot of nats-server plus unibus's own state into
 * the overview the admin page renders, the JSON API returns and /metrics
 * reads: the facts every panel shares (time, readiness, leaf uplinks) and
 * each panel's view, built by the panels in lib/admin/panels.ts. Pure
 * functions of their inputs (apart from the clock), so rendering can be
 * tested with fixed data.
 */
import type { FleetRow } from "../fleet/fleet-view.ts";
import type { NodeIdentity } from "../pki/index.ts";
import type { UnibusConfig } from "../config/load.ts";
import type { Assessment } from "../diagnosis/assess.ts";
import type { ClusterFacts } from "../diagnosis/cluster-facts.ts";
import { leafUplinks, type LeafUplink } from "../diagnosis/leaf-uplinks.ts";
import { clusterQuorum } from "../diagnosis/quorum.ts";
import { readinessOf, type Readiness } from "../diagnosis/readiness.ts";
import { buildClusterView, type ClusterTracker } from "./cluster-view.ts";
import type { DiskUsage } from "./disk-usage.ts";
import { panelViews, type PanelViews } from "./panels.ts";
import type { RatesView } from "./panels/rates.tsx";
import type { Snapshot } from "../natsd/snapshot.ts";

/** Versions names what this node runs. */
export interface Versions { unibus: string; nats: string; target: string }

/** CoreOverview is what the overview says beside the panels, and every panel may read while rendering. */
export interface CoreOverview {
  generatedAt: string;
  /** What /readyz answers. */
  readiness: Readiness;
  /** Leaf uplinks ([[leafnodes.remotes]]) and whether each is connected. */
  leafs: LeafUplink[];
  /** On a hub: every expected and connected edge, and where (lib/fleet/fleet-view.ts). */
  fleet?: FleetRow[];
  /** What the whole cluster said in the last round (each member's own verdict, replicas behind, storage), when this node asked. */
  clusterHealth?: Pick<ClusterFacts, "expected" | "verdicts" | "behind" | "storage" | "streams">;
}

/** Overview is everything on the dashboard except config and logs: the shared facts and each panel's view under its id. */
export type Overview = CoreOverview & PanelViews;

/** OverviewInputs are the facts an Overview is computed from. */
export interface OverviewInputs {
  snapshot: Snapshot;
  config: UnibusConfig;
  identity?: NodeIdentity;
  versions: Versions;
  startedAt: number;
  disk: DiskUsage;
  rates: RatesView;
  tracker?: ClusterTracker;
  /** The diagnosis and its facts (lib/diagnosis/assess.ts): the verdict `unibus status` prints, and what readiness and the cluster's counts are read from. */
  assessment: Assessment;
  /** Names missing peers gave on their route ports, by configured address. */
  probedNames?: ReadonlyMap<string, string>;
  caFingerprint?: string;
  now?: number;
}

/** buildOverview computes the shared facts, then every panel's view, from one set of inputs. */
export function buildOverview(i: OverviewInputs): Overview {
  const { diagnosis, facts } = i.assessment;
  // facts.config has the members that joined later folded into its peers, as the diagnosis sees them.
  const cluster = buildClusterView(i.snapshot, facts.config, clusterQuorum(facts), i.tracker, i.probedNames);
  const generatedAt = new Date(i.now ?? Date.now()).toISOString();
  return {
    generatedAt,
    readiness: readinessOf(facts),
    leafs: leafUplinks(facts),
    ...(facts.fleet ? { fleet: facts.fleet.rows } : {}),
    ...(facts.cluster ? { clusterHealth: { expected: facts.cluster.expected, verdicts: facts.cluster.verdicts, behind: facts.cluster.behind, storage: facts.cluster.storage, streams: facts.cluster.streams } } : {}),
    ...panelViews({ ...i, cluster, health: diagnosis, generatedAt }),
  };
}
