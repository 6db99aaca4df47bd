/**
 * health.tsx is the top panel: the verdict and every problem, in the words
 * `unibus status` uses (the same diagnosis, lib/diagnosis/assess.ts).
 */
import { repeatText, type Diagnosis } from "../../diagnosis/problem.ts";
import { overviewPanel } from "../panel.ts";

/** healthPanel shows the verdict and each problem's node, cause, fix and nats-server's own words. */
export const healthPanel = overviewPanel({
  id: "health",
  title: "Health",
  wide: true,
  view: (i): Diagnosis => i.health,
  attributes: (h) => ({ class: `verdict-${h.verdict}`, "data-verdict": h.verdict }),
  render: (h, facts) => {
    const now = Date.parse(facts.generatedAt);
    return (
      <>
        <h2 id="verdict" class={h.verdict === "healthy" ? "ok" : h.verdict === "degraded" ? "warn" : "bad"}>
          {h.verdict === "healthy" ? "Healthy" : h.verdict === "degraded" ? "Degraded" : "Broken"}: {h.problems.length ? `${h.problems.length} problem${h.problems.length === 1 ? "" : "s"}` : "no problems"}
        </h2>
        {h.problems.length ? (
          <ol id="problems">
            {h.problems.map((p) => (
              <li class={`problem ${p.severity === "broken" ? "bad" : "warn"}`} data-kind={p.kind} data-severity={p.severity}>
                <strong>[{p.severity}] on {p.node}:</strong> <span class="cause">{p.cause}</span>
                <div class="fix"><strong>Fix:</strong> {p.fix}</div>
                {p.evidence ? <div class="evidence muted">nats-server said: <code>{p.evidence}</code>{p.count ? ` (${repeatText(p, now)})` : ""}</div> : null}
              </li>
            ))}
          </ol>
        ) : null}
      </>
    );
  },
});
