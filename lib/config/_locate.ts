/**
 * Finds where a key path was written in a TOML source, so validation errors
 * can name line and column. smol-toml reports positions for syntax errors
 * only; this scanner covers the structured part (tables, arrays of tables,
 * dotted keys) and falls back to the nearest enclosing key it can find.
 */

/** SourcePosition is a 1-based line and column. */
export interface SourcePosition { line: number; column: number }

/** KeyLocator answers "where is this path" for one TOML file. */
export type KeyLocator = (path: readonly PropertyKey[]) => SourcePosition | undefined;

function splitKey(text: string): string[] {
  const parts: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text))) {
    parts.push(m[1] ?? m[2] ?? m[3] ?? "");
    if (!m[4]) break;
  }
  return parts;
}

function bracketDelta(value: string): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#") break;
    else if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") depth--;
  }
  return depth;
}

/** locateKeys scans a TOML source once and returns a locator for key paths. */
export function locateKeys(source: string): KeyLocator {
  const positions = new Map<string, SourcePosition>();
  const arrayCounts = new Map<string, number>();
  let table: string[] = [];
  let depth = 0;
  let multiline: string | null = null;
  source.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (multiline) {
      if (raw.includes(multiline)) multiline = null;
      return;
    }
    if (depth > 0) {
      depth += bracketDelta(raw);
      return;
    }
    const header = /^(\s*)(\[\[?)\s*([^\]]+?)\s*\]\]?/.exec(raw);
    if (header) {
      const keys = splitKey(header[3]!);
      if (header[2] === "[[") {
        const id = keys.join("\u0000");
        const index = arrayCounts.get(id) ?? 0;
        arrayCounts.set(id, index + 1);
        table = [...keys, String(index)];
      } else {
        table = keys;
      }
      const pos = { line, column: header[1]!.length + 1 };
      if (!positions.has(table.join("\u0000"))) positions.set(table.join("\u0000"), pos);
      return;
    }
    const kv = /^(\s*)([^=#]+?)\s*=\s*(.*)$/.exec(raw);
    if (!kv) return;
    const path = [...table, ...splitKey(kv[2]!)];
    positions.set(path.join("\u0000"), { line, column: kv[1]!.length + 1 });
    const value = kv[3]!;
    const triple = /^("""|''')/.exec(value);
    if (triple && value.indexOf(triple[1]!, 3) === -1) multiline = triple[1]!;
    else depth = Math.max(0, bracketDelta(value));
  });
  return (path) => {
    const keys = path.map(String);
    for (let n = keys.length; n > 0; n--) {
      const pos = positions.get(keys.slice(0, n).join("\u0000"));
      if (pos) return pos;
    }
    return undefined;
  };
}
