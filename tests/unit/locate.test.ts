/**
 * Key location: a validation error names the line and column where the key
 * was written, for tables, arrays of tables, dotted and quoted keys and
 * inline tables; a key that is not written points at its nearest parent.
 */
import { expect, test } from "bun:test";
import { locateKeys } from "../../lib/config/_locate.ts";

const SOURCE = `# comment [not.a.table]
[node]
name = "a"   # trailing = comment

  [client]
  listen = "127.0.0.1:4222"
  users = [
    { user = "x", password_file = "p" },
  ]
[[leafnodes.remotes]]
url = "nats-leaf://a:7422"
[[leafnodes.remotes]]
url = "nats-leaf://b:7422"
secret_file = """
not = a key
"""
[jetstream]
"max_memory" = "1GiB"
log.level = "debug"
`;

const at = locateKeys(SOURCE);

test("keys in tables, with indentation", () => {
  expect(at(["node", "name"])).toEqual({ line: 3, column: 1 });
  expect(at(["client", "listen"])).toEqual({ line: 6, column: 3 });
  expect(at(["client"])).toEqual({ line: 5, column: 3 });
});

test("entries of arrays of tables are counted", () => {
  expect(at(["leafnodes", "remotes", 0, "url"])).toEqual({ line: 11, column: 1 });
  expect(at(["leafnodes", "remotes", 1, "url"])).toEqual({ line: 13, column: 1 });
  expect(at(["leafnodes", "remotes", 1, "secret_file"])).toEqual({ line: 14, column: 1 });
});

test("multi-line strings and arrays are not read as keys", () => {
  expect(at(["leafnodes", "remotes", 1, "not"])).toEqual({ line: 12, column: 1 }); // the [[leafnodes.remotes]] header it falls back to
  expect(at(["client", "users", 0, "user"])).toEqual({ line: 7, column: 3 });
});

test("quoted and dotted keys", () => {
  expect(at(["jetstream", "max_memory"])).toEqual({ line: 18, column: 1 });
  expect(at(["jetstream", "log", "level"])).toEqual({ line: 19, column: 1 });
});

test("an unwritten key points at its nearest written parent, an unknown table at nothing", () => {
  expect(at(["node", "data_dir"])).toEqual({ line: 2, column: 1 });
  expect(at(["tls", "ca_cert"])).toBeUndefined();
});
