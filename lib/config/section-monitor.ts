/**
 * section-monitor.ts is the [monitor] table: nats-server's monitoring port,
 * which has no authentication and therefore never leaves loopback; the admin
 * page and `unibus status` read it.
 */
import { z } from "zod";
import { DEFAULTS } from "./defaults.ts";
import { listenValue } from "./_parsed.ts";
import { differs, noSans, noSecrets, type Section } from "./section.ts";
import { isLoopback } from "./units.ts";
import type { MonitorConfig } from "./config-types.ts";
export type { MonitorConfig } from "./config-types.ts";

const schema = () => z.strictObject({ listen: listenValue.default(DEFAULTS.monitorListen) }).prefault({});


/** monitorSection is the [monitor] table. */
export const monitorSection = {
  key: "monitor",
  schema,
  checks: ({ monitor }) => isLoopback(monitor.listen.host) ? [] : [{
    path: ["monitor", "listen"],
    message: `expected a loopback address (127.0.0.1 or [::1]): nats monitoring has no authentication, the admin page serves it instead; got "${monitor.listen.text}"`,
  }],
  listeners: ({ monitor }) => [{ path: ["monitor", "listen"], listen: monitor.listen }],
  secrets: noSecrets,
  sans: noSans,
  render: ({ monitor }) => ({ http: monitor.listen.text }),
  effective: ({ monitor }) => ({ listen: monitor.listen.text }),
  restartOnly: (a, b) => differs("monitor.listen", a.monitor.listen.text, b.monitor.listen.text),
} satisfies Section<"monitor", MonitorConfig>;
