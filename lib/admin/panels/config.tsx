/**
 * config.tsx is the effective-configuration panel: the config as unibus
 * read it, every default filled in and every secret redacted.
 */
import { pagePanel } from "../panel.ts";

/** configPanel shows the effective config (the text /api/config also serves). */
export const configPanel = pagePanel({
  id: "config",
  title: "Effective configuration",
  wide: true,
  view: (p): string => p.configToml,
  render: (toml) => (
    <>
      <h2>Effective configuration <span class="muted">(secrets redacted)</span></h2>
      <pre>{toml}</pre>
    </>
  ),
});
