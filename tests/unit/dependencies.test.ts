/**
 * The dependency rules of lib/, checked on the source: runtime dependencies
 * are exactly what the executable imports (test-only packages are
 * devDependencies), lower layers never import higher ones, Bun-specific APIs
 * stay in lib/runtime-*.ts, and imports form no cycles (type imports included).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { ROOT } from "../_helpers.ts";

const LIB = join(ROOT, "lib");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** valueImports lists what a file imports at run time (`import type` and `export type` are erased). */
function valueImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?["']([^"']+)["']/gm)) out.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) out.push(m[1]!);
  return out;
}

const FILES = [join(ROOT, "main.ts"), ...sources(LIB)];
const rel = (f: string) => relative(ROOT, f);
const graph = new Map<string, string[]>();
for (const file of FILES) {
  graph.set(rel(file), valueImports(file).filter((s) => s.startsWith(".")).map((s) => rel(resolve(dirname(file), s))).filter((t) => t.startsWith("lib/")));
}

describe("dependencies", () => {
  test("runtime dependencies are exactly the packages the executable imports", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const used = new Set<string>();
    for (const file of FILES) {
      for (const spec of valueImports(file)) {
        if (spec.startsWith(".") || spec.startsWith("node:") || spec.startsWith("bun:") || spec === "bun") continue;
        used.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
      }
    }
    const declared = Object.keys(pkg.dependencies);
    expect([...used].sort()).toEqual(declared.sort());
  });

  test("Bun-specific APIs are used only in lib/runtime-*.ts", () => {
    const offenders = FILES.filter((f) => !/\/lib\/runtime-[a-z]+\.ts$/.test(f) && (/\bBun\.(spawn|serve|file|zstd|which)/.test(readFileSync(f, "utf8")) || valueImports(f).some((s) => s.startsWith("bun:"))));
    expect(offenders.map(rel)).toEqual([]);
  });

  test("config, auth, pki and the runtime modules never import the node, the commands, the admin page or nats supervision", () => {
    const lower = /^lib\/(config|auth|pki)\/|^lib\/(runtime-[a-z]+|host|disk-room|data-dir|errors|fsutil|log)\.ts$/;
    const higher = /^lib\/(cli|admin|natsd|cluster|diagnosis|systemd)\/|^lib\/(node|identity)\.ts$/;
    const bad: string[] = [];
    for (const [from, tos] of graph) if (lower.test(from)) for (const to of tos) if (higher.test(to)) bad.push(`${from} -> ${to}`);
    expect(bad).toEqual([]);
  });

  test("the domain (diagnosis, cluster status, membership, nats supervision) never imports the admin page, the commands or the node", () => {
    const domain = /^lib\/(diagnosis|cluster|membership|natsd)\//;
    const higher = /^lib\/(cli|admin)\/|^lib\/node\.ts$/;
    const bad: string[] = [];
    for (const file of FILES) {
      const from = rel(file);
      if (!domain.test(from)) continue;
      // Type imports count here too: a type from the page is still a dependency on it.
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+["']([^"']+)["']/gm)) {
        const to = rel(resolve(dirname(file), m[1]!));
        if (m[1]!.startsWith(".") && higher.test(to)) bad.push(`${from} -> ${to}`);
      }
    }
    expect(bad).toEqual([]);
  });

  test("no module imports another folder's private _ files", () => {
    const bad: string[] = [];
    for (const file of FILES) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+["'](\.[^"']+)["']/gm)) {
        const to = resolve(dirname(file), m[1]!);
        if (/\/_[^/]+$/.test(to) && dirname(to) !== dirname(file)) bad.push(`${rel(file)} -> ${rel(to)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  test("no import circle anywhere in lib, type imports included (the config and its sections, the panels and their registry, the diagnosis)", () => {
    const all = new Map<string, string[]>();
    for (const file of FILES) {
      const text = readFileSync(file, "utf8");
      const specs = [
        ...text.matchAll(/^(?:import|export)\s[^;]*?from\s+["'](\.[^"']+)["']/gm),
        ...text.matchAll(/^import\s+["'](\.[^"']+)["']/gm),
        ...text.matchAll(/\bimport\(\s*["'](\.[^"']+)["']\s*\)/g),
      ];
      all.set(rel(file), specs.map((m) => rel(resolve(dirname(file), m[1]!))));
    }
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (n: string) => {
      state.set(n, "open");
      stack.push(n);
      for (const m of all.get(n) ?? []) {
        if (state.get(m) === "open") cycles.push([...stack.slice(stack.indexOf(m)), m].join(" -> "));
        else if (!state.has(m)) visit(m);
      }
      stack.pop();
      state.set(n, "done");
    };
    for (const n of [...all.keys()].sort()) if (!state.has(n)) visit(n);
    expect(cycles).toEqual([]);
  });

  test("value imports form no cycles", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (n: string) => {
      state.set(n, "open");
      stack.push(n);
      for (const m of graph.get(n) ?? []) {
        if (state.get(m) === "open") cycles.push([...stack.slice(stack.indexOf(m)), m].join(" -> "));
        else if (!state.has(m)) visit(m);
      }
      stack.pop();
      state.set(n, "done");
    };
    for (const n of [...graph.keys()].sort()) if (!state.has(n)) visit(n);
    expect(cycles).toEqual([]);
  });

  test("diagnosis reads certificates with one x509 library (node:crypto), never @peculiar/x509 beside it", () => {
    const offenders = FILES.filter((f) => rel(f).startsWith("lib/diagnosis/")).filter((f) => {
      const text = readFileSync(f, "utf8");
      return /["']@peculiar\/x509["']/.test(text) || /pki\/_x509\.ts["']/.test(text);
    });
    expect(offenders.map(rel)).toEqual([]);
  });

  test("nats monitoring documents are typed once, in lib/natsd/monitoring-types.ts", () => {
    const home = "lib/natsd/monitoring-types.ts";
    const offenders: string[] = [];
    for (const file of FILES) {
      if (rel(file) === home) continue;
      const text = readFileSync(file, "utf8");
      if (/\b(interface|type)\s+(Varz|Connz|ConnInfo|Routez|RouteInfo|Jsz|Leafz|LeafInfo|PeerInfo|StreamDetail|ConsumerDetail)\b/.test(text)) offenders.push(`${rel(file)}: declares a monitoring type`);
      if (/\.get<\s*\{/.test(text)) offenders.push(`${rel(file)}: types a monitoring document inline`);
      if (/\b(remote_name|did_solicit|meta_cluster|is_spoke|server_id|cluster_size|num_routes|in_msgs)\??\s*:\s*(string|number|boolean|\{)/.test(text)) offenders.push(`${rel(file)}: declares monitoring fields`);
    }
    expect(offenders).toEqual([]);
  });
});
