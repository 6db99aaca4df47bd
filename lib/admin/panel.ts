/**
 * panel.ts is the contract every admin panel meets, the way each TOML table
 * meets lib/config/section.ts: one module exports one object with its id
 * (the page section's id, its key in the overview and its /api/<id>), its
 * title, the data it needs and how it renders. lib/admin/panels.ts lists
 * them; the page, the JSON API and the tests loop over that list, so adding
 * a panel touches its module and that list only.
 */
import type { Child } from "hono/jsx";
import type { Diagnosis } from "../diagnosis/problem.ts";
import type { ClusterView } from "./cluster-view.ts";
import type { LogLine } from "./log-ring.ts";
import type { CoreOverview, OverviewInputs } from "./overview-inputs.ts";

/** PanelInputs are what an overview panel builds its view from: the overview's inputs and the parts every panel shares. */
export interface PanelInputs extends OverviewInputs {
  cluster: ClusterView;
  health: Diagnosis;
  generatedAt: string;
}

/** PageInputs are what only the page has: the effective config and the last log lines. */
export interface PageInputs { configToml: string; logs: LogLine[] }

interface PanelBase<Id extends string, V> {
  /** id is the section's id on the page; an overview panel's view is also `overview[id]` and `/api/<id>`. */
  id: Id;
  /** title names the panel (the section's accessible name). */
  title: string;
  /** wide panels take the page's whole width. */
  wide?: boolean;
  /** attributes adds a class and data-* attributes to the section, from the view (e.g. the verdict). */
  attributes?(view: V): { class?: string } & Record<`data-${string}`, string>;
  /** render draws the section's content; `facts` are the overview's shared facts (time, readiness, leaf uplinks). */
  render(view: V, facts: CoreOverview): Child;
}

/** OverviewPanel shows facts about the node: its view is part of the overview (/api/overview, /api/<id>). */
export interface OverviewPanel<Id extends string = string, V = unknown> extends PanelBase<Id, V> {
  from: "overview";
  view(i: PanelInputs): V;
}

/** PagePanel shows what only the page carries (the config text, the log): not part of the overview. */
export interface PagePanel<Id extends string = string, V = unknown> extends PanelBase<Id, V> {
  from: "page";
  view(p: PageInputs): V;
}

/** overviewPanel declares an overview panel, keeping its id's literal type for the overview's type. */
export function overviewPanel<const Id extends string, V>(p: Omit<OverviewPanel<Id, V>, "from">): OverviewPanel<Id, V> {
  return { ...p, from: "overview" };
}

/** pagePanel declares a page-only panel. */
export function pagePanel<const Id extends string, V>(p: Omit<PagePanel<Id, V>, "from">): PagePanel<Id, V> {
  return { ...p, from: "page" };
}
