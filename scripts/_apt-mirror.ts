import { readFileSync, readdirSync, existsSync } from "node:fs";

/**
 * debianMirror finds the Debian archive this machine already uses, from
 * UNIBUS_DEBIAN_MIRROR or the apt configuration, so no host name is ever
 * written into the repository.
 */
export function debianMirror(env: Record<string, string | undefined> = process.env): string {
  const override = env.UNIBUS_DEBIAN_MIRROR?.trim();
  if (override) return override.replace(/\/+$/, "");
  const candidates: string[] = [];
  const dir = "/etc/apt/sources.list.d";
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      if (name.endsWith(".sources")) candidates.push(...deb822Uris(readFileSync(`${dir}/${name}`, "utf8")));
      if (name.endsWith(".list")) candidates.push(...oneLineUris(readFileSync(`${dir}/${name}`, "utf8")));
    }
  }
  if (existsSync("/etc/apt/sources.list")) candidates.push(...oneLineUris(readFileSync("/etc/apt/sources.list", "utf8")));
  const mirror = candidates.find((uri) => /^https?:\/\//.test(uri) && !/security/.test(uri) && /debian\/?$/.test(uri));
  if (!mirror) {
    throw new Error("cannot find a Debian mirror in /etc/apt/sources.list(.d); set UNIBUS_DEBIAN_MIRROR to the archive's base URL");
  }
  return mirror.replace(/\/+$/, "");
}

function deb822Uris(text: string): string[] {
  const uris: string[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    if (/^Enabled:\s*no/im.test(stanza)) continue;
    if (!/^Types:.*\bdeb\b/m.test(stanza)) continue;
    const m = /^URIs:\s*(.+)$/m.exec(stanza);
    if (m?.[1]) uris.push(...m[1].trim().split(/\s+/));
  }
  return uris;
}

function oneLineUris(text: string): string[] {
  const uris: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
    if (m?.[1]) uris.push(m[1]);
  }
  return uris;
}
