/**
 * panels.ts is the admin page's one list of panels, in page order. The page
 * draws each, the overview (and /api/overview, /api/<id>) carries each
 * overview panel's view, and the tests loop over it: adding a panel is its
 * module plus an import and one entry here.
 */
import type { PagePanel, PageInputs, OverviewPanel, PanelInputs } from "./panel.ts";
import { certificatePanel } from "./panels/certificate.tsx";
import { clientsPanel } from "./panels/clients.tsx";
import { clusterPanel } from "./panels/cluster.tsx";
import { configPanel } from "./panels/config.tsx";
import { healthPanel } from "./panels/health.tsx";
import { jetstreamPanel } from "./panels/jetstream.tsx";
import { logPanel } from "./panels/log.tsx";
import { nodePanel } from "./panels/node.tsx";
import { ratesPanel } from "./panels/rates.tsx";

/** PANELS lists every panel of the admin page, in the order the page shows them. */
export const PANELS = [
  healthPanel,
  nodePanel,
  clusterPanel,
  ratesPanel,
  clientsPanel,
  jetstreamPanel,
  certificatePanel,
  configPanel,
  logPanel,
] as const;

type AnyPanel = (typeof PANELS)[number];
type OverviewPanels = Extract<AnyPanel, { from: "overview" }>;

/** PanelViews is each overview panel's view under its id: the overview's panel part, typed from the list. */
export type PanelViews = { [P in OverviewPanels as P["id"]]: ReturnType<P["view"]> };

/** OVERVIEW_PANELS are the panels whose views make up the overview (served at /api/<id>). */
export const OVERVIEW_PANELS: readonly OverviewPanel[] = PANELS.filter((p): p is OverviewPanels => p.from === "overview");

/** panelViews builds every overview panel's view from one set of inputs. */
export function panelViews(i: PanelInputs): PanelViews {
  return Object.fromEntries(OVERVIEW_PANELS.map((p) => [p.id, p.view(i)])) as PanelViews;
}

/** pageView is a panel's view on the page: its part of the overview, or what only the page carries. */
export function pageView(p: OverviewPanel | PagePanel, views: PanelViews, page: PageInputs): unknown {
  return p.from === "overview" ? (views as Record<string, unknown>)[p.id] : p.view(page);
}
