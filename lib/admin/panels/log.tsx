/**
 * log.tsx is the log panel: unibus's last lines, newest first, readable
 * rather than raw JSON.
 */
import type { LogLine } from "../log-ring.ts";
import { logEntries } from "../log-view.ts";
import { pagePanel } from "../panel.ts";

/** logPanel shows the last log lines with their level and fields. */
export const logPanel = pagePanel({
  id: "log",
  title: "Log",
  wide: true,
  view: (p): LogLine[] => p.logs,
  render: (logs) => (
    <>
      <h2>Log <span class="muted">(last {logs.length} lines, newest first, times in UTC)</span></h2>
      <ol id="log-lines">
        {logEntries(logs).map((e) => (
          <li class={`log-${e.level}`} data-level={e.level}>
            <time>{e.time}</time> <span class={`level ${e.level === "error" ? "bad" : e.level === "warn" ? "warn" : "muted"}`}>{e.level}</span> <span class="msg">{e.message}</span>
            {e.fields.length ? <span class="fields muted"> {e.fields.map(([k, v]) => `${k}=${v}`).join(" ")}</span> : null}
          </li>
        ))}
      </ol>
    </>
  ),
});
