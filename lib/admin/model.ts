/**
 * model.ts turns one snapshot of nats-server plus unibus's own state into
 * the overview the admin page renders, the JSON API returns and /metrics
 * reads: the facts every panel shares (time, readiness, leaf uplinks) and
 * each panel's view, built by the panels in lib/admin/panels.ts. Pure
 * functions of their inputs (apart from the clock), so rendering can be
 * tested with fixed data.
 */
import { leafUplinks } from "../diagnosis/leaf-uplinks.ts";
import { gatewayLinks } from "../diagnosis/gateway-links.ts";
import { clusterQuorum } from "../diagnosis/quorum.ts";
import { readinessOf } from "../diagnosis/readiness.ts";
import { buildClusterView } from "./cluster-view.ts";
import { panelViews, type PanelViews } from "./panels.ts";

export type { CoreOverview, OverviewInputs, RatesView, Versions } from "./overview-inputs.ts";
import type { CoreOverview, OverviewInputs } from "./overview-inputs.ts";

/** Overview is everything on the dashboard except config and logs: the shared facts and each panel's view under its id. */
export type Overview = CoreOverview & PanelViews;

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
    ...(facts.config.gateway ? { gateways: gatewayLinks(facts) } : {}),
    ...(facts.fleet ? { fleet: facts.fleet.rows } : {}),
    ...(facts.cluster ? { clusterHealth: { expected: facts.cluster.expected, verdicts: facts.cluster.verdicts, behind: facts.cluster.behind, storage: facts.cluster.storage, streams: facts.cluster.streams } } : {}),
    ...panelViews({ ...i, cluster, health: diagnosis, generatedAt }),
  };
}
