/**
 * The systemd unit lets the hardened service write a [backup] dir on another
 * disk (ReadWritePaths=-DIR: "-" so an unmounted disk does not stop the
 * node), and lists nothing extra for the default dir inside the data dir.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfigText } from "../../lib/config/load.ts";
import { renderUnit, unitFacts } from "../../lib/systemd/unit.ts";
import { ROOT } from "../_helpers.ts";

const TEMPLATE = readFileSync(join(ROOT, "packaging", "unibus.service"), "utf8");
const unit = (toml: string) => renderUnit(TEMPLATE, unitFacts(parseConfigText(`[node]\nname = "pi-1"\ndata_dir = "/var/lib/unibus"\n${toml}`, "/etc/unibus/unibus.toml", {})));

test("a backup dir on another disk is writable for the service, and optional", () => {
  const text = unit(`[backup]\ndir = "/mnt/usb/unibus-backups"\n`);
  expect(text).toMatch(/^ReadWritePaths=-\/mnt\/usb\/unibus-backups$/m);
  // install.sh reads the first non-"-" ReadWritePaths= as the data dir: there is none here.
  expect(text.match(/^ReadWritePaths=[^-].*$/gm)).toBeNull();
});

test("the default backup dir inside the data dir, or backups turned off, add nothing", () => {
  expect(unit("")).not.toMatch(/^ReadWritePaths=/m);
  expect(unit(`[backup]\nenabled = false\ndir = "/mnt/usb/b"\n`)).not.toMatch(/^ReadWritePaths=/m);
});
