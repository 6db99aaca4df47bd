/**
 * rates.tsx is the message-rate panel: msgs/s and bytes/s in and out, from
 * the sampler's /varz counters.
 */
import { formatBytes, formatCount } from "../../format.ts";
import { RateChart } from "../pages/rate-chart.tsx";
import { overviewPanel } from "../panel.ts";
import type { RatesView } from "../overview-inputs.ts";
import { ErrorLine } from "./_parts.tsx";

export type { RatesView } from "../overview-inputs.ts";

/** ratesPanel charts the traffic of the last minutes. */
export const ratesPanel = overviewPanel({
  id: "rates",
  title: "Message rates",
  view: (i): RatesView => i.rates,
  render: (r) => (
    <>
      <h2>Message rates</h2>
      <ErrorLine text={r.error ? `sampling /varz failed: ${r.error}` : undefined} />
      <RateChart title="msgs/s" points={r.points} in={(p) => p.inMsgs} out={(p) => p.outMsgs} format={(v) => formatCount(v)} />
      <RateChart title="bytes/s" points={r.points} in={(p) => p.inBytes} out={(p) => p.outBytes} format={(v) => `${formatBytes(v)}`} />
      <p class="muted">A sample every {r.intervalMs / 1000} s.</p>
    </>
  ),
});
