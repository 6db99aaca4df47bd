/** The storage rule: a member at or near its JetStream storage limit is named on any member, with room to make. */
import { expect, test } from "bun:test";
import { storageRule } from "../../../lib/diagnosis/rules/storage.ts";
import { healthy, round, run } from "./_facts.ts";

const MiB = 1024 * 1024;
test.each([
  ["plenty of room", [{ node: "pi-2", used: 10 * MiB, max: 62 * MiB }], []],
  ["near", [{ node: "pi-2", used: 57 * MiB, max: 62 * MiB }], [["pi-2", "near its limit"]]],
  ["at the limit (the issue's 65366718 of 65011712)", [{ node: "pi-3", used: 65_366_718, max: 65_011_712 }], [["pi-3", "replicas stop following"]]],
  ["no limit known", [{ node: "pi-2", used: 57 * MiB, max: 0 }], []],
] as const)("%s", (_, storage, want) => {
  const out = run(storageRule, healthy({ cluster: round({ storage: storage as never }) }));
  expect(out.map((p) => [p.kind, p.node])).toEqual(want.map(([n]) => ["jetstream_storage_full", n]));
  want.forEach(([, w], i) => {
    expect(out[i]!.cause).toContain(w);
    expect(out[i]!.fix).toContain("jetstream.max_file");
  });
});
