/**
 * overview-inputs.ts holds the types the overview is built from and every
 * panel may read (lib/admin/panel.ts): apart from lib/admin/model.ts, which
 * imports the panel list, so the panels and the model share types without
 * an import circle through the registry.
 */
import type { FleetRow } from "../fleet/fleet-view.ts";
import type { NodeIdentity } from "../pki/index.ts";
import type { UnibusConfig } from "../config/load.ts";
import type { Assessment } from "../diagnosis/assess.ts";
import type { ClusterFacts } from "../diagnosis/cluster-facts.ts";
import type { LeafUplink } from "../diagnosis/leaf-uplinks.ts";
import type { GatewayLink } from "../diagnosis/gateway-links.ts";
import type { Readiness } from "../diagnosis/readiness.ts";
import type { ClusterTracker } from "./cluster-view.ts";
import type { DiskUsage } from "./disk-usage.ts";
import type { RatePoint } from "./sampler.ts";
import type { Snapshot } from "../natsd/snapshot.ts";

/** RatesView is the message-rate chart: points, oldest first. */
export interface RatesView { intervalMs: number; points: RatePoint[]; error?: string }

/** Versions names what this node runs. */
export interface Versions { unibus: string; nats: string; target: string }

/** CoreOverview is what the overview says beside the panels, and every panel may read while rendering. */
export interface CoreOverview {
  generatedAt: string;
  /** What /readyz answers. */
  readiness: Readiness;
  /** Leaf uplinks ([[leafnodes.remotes]]) and whether each is connected. */
  leafs: LeafUplink[];
  /** With [gateway]: each other site's link, up or down and since when (lib/diagnosis/gateway-links.ts). */
  gateways?: GatewayLink[];
  /** On a hub: every expected and connected edge, and where (lib/fleet/fleet-view.ts). */
  fleet?: FleetRow[];
  /** What the whole cluster said in the last round (each member's own verdict, replicas behind, storage), when this node asked. */
  clusterHealth?: Pick<ClusterFacts, "expected" | "verdicts" | "behind" | "storage" | "streams">;
}

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
