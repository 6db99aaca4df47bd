/**
 * runtime-unit.ts embeds packaging/unibus.service into the executable (Bun
 * inlines a `type: "text"` import), so `unibus unit` needs no checkout and
 * install.sh needs only the executable beside it.
 */
import template from "../packaging/unibus.service" with { type: "text" };

/** UNIT_TEMPLATE is the text of packaging/unibus.service as it was at build time. */
export const UNIT_TEMPLATE: string = template;
