/**
 * dashboard.tsx is the one page a home-lab user opens: is the bus healthy,
 * and if not, why. It draws the header and then every panel of
 * lib/admin/panels.ts in order; each panel renders its own error state
 * (nats-server not reachable, no JetStream...) instead of failing the page.
 */
import type { LogLine } from "../log-ring.ts";
import type { Overview } from "../model.ts";
import type { OverviewPanel, PagePanel } from "../panel.ts";
import { PANELS, pageView } from "../panels.ts";
import { Layout } from "./layout.tsx";

/** DashboardProps is what the page needs beyond the overview. */
export interface DashboardProps { nonce: string; overview: Overview; configToml: string; logs: LogLine[] }

/** PanelSection draws one panel inside its section: id, width, accessible name and the panel's own attributes. */
function PanelSection({ panel, view, o }: { panel: OverviewPanel | PagePanel; view: unknown; o: Overview }) {
  const { class: extra, ...data } = panel.attributes?.(view) ?? {};
  const cls = [panel.wide ? "wide" : "", extra ?? ""].filter(Boolean).join(" ");
  return <section id={panel.id} class={cls || undefined} aria-label={panel.title} {...data}>{panel.render(view, o)}</section>;
}

/** Dashboard renders the whole page. */
export function Dashboard(props: DashboardProps) {
  return (
    <Layout title={`unibus ${props.overview.node.name}`} nonce={props.nonce} refresh>
      <DashBody {...props} />
    </Layout>
  );
}

/** DashBody is #dash, the part the refresh script fetches alone (`/?part=dash`) and swaps in. */
export function DashBody({ overview: o, configToml, logs }: DashboardProps) {
  const ready = o.readiness.ready;
  return (
      <div id="dash">
        <header>
          <h1>unibus · {o.node.name}</h1>
          <div>
            <span id="verdict-badge" class={`badge ${o.health.verdict === "healthy" ? "ok" : o.health.verdict === "degraded" ? "warn" : "bad"}`}>{o.health.verdict}</span>{" "}
            <span id="readiness" class={`badge ${ready ? "ok" : "bad"}`}>{ready ? "ready" : "not ready"}</span>{" "}
            <span class="muted">updated {o.generatedAt.slice(11, 19)} UTC</span>{" "}
            <form class="inline" method="post" action="/logout"><button type="submit">Log out</button></form>
          </div>
        </header>
        {ready ? null : (
          <ul class="error" id="not-ready">
            {o.readiness.checks.filter((c) => !c.ok).map((c) => <li>{c.name}: {c.detail}</li>)}
          </ul>
        )}
        <main>
          {PANELS.map((p) => <PanelSection panel={p as OverviewPanel | PagePanel} view={pageView(p as OverviewPanel | PagePanel, o, { configToml, logs })} o={o} />)}
        </main>
      </div>
  );
}
