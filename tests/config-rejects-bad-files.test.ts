import { describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN_X64, ROOT, runUnibus, tempDir } from "./_helpers.ts";

const BAD = join(ROOT, "tests", "testdata", "bad-configs");
const cases = readdirSync(BAD).filter((f) => f.endsWith(".toml")).sort();

/** Each bad config says on its first line what the error must name: `# expect: LINE KEY TEXT`. */
function expectation(file: string): { line: string; key: string; text: string } {
  const first = readFileSync(join(BAD, file), "utf8").split("\n")[0]!;
  const m = /^# expect: (\d+) (\S+) (.+)$/.exec(first);
  if (!m) throw new Error(`${file}: first line must be "# expect: LINE KEY TEXT"`);
  return { line: m[1]!, key: m[2]!, text: m[3]! };
}

describe("a bad config is refused with file, line, key and expectation, and nothing starts", () => {
  test("there are at least 15 bad configs", () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  for (const file of cases) {
    for (const command of [["config", "check"], []]) {
      test(`${file} (${command.join(" ") || "run"}) exits 2 naming line and key`, async () => {
        using dir = tempDir();
        const config = join(dir.path, file);
        copyFileSync(join(BAD, file), config);
        const { code, stderr } = await runUnibus([...command, "--config", config]);
        const want = expectation(file);
        expect(code).toBe(2);
        expect(stderr).toContain(`${config}:${want.line}:`);
        if (want.key !== "-") expect(stderr).toContain(`${want.key}:`);
        expect(stderr).toContain(want.text);
        // Nothing written: the folder holds just the config, no data dir.
        expect(readdirSync(dir.path)).toEqual([file]);
      });
    }
  }

  test("a missing config file is named and exits 2", async () => {
    using dir = tempDir();
    const { code, stderr } = await runUnibus(["--config", join(dir.path, "nope.toml")]);
    expect(code).toBe(2);
    expect(stderr).toContain(`cannot read config file ${join(dir.path, "nope.toml")}: no such file`);
  });

  test("a directory given as config file is refused", async () => {
    using dir = tempDir();
    mkdirSync(join(dir.path, "conf.toml"));
    const { code, stderr } = await runUnibus(["config", "check", "--config", join(dir.path, "conf.toml")]);
    expect(code).toBe(2);
    expect(stderr).toContain("it is a directory");
  });

  test("a file that is not text is refused as unreadable", async () => {
    using dir = tempDir();
    const file = join(dir.path, "binary.toml");
    writeFileSync(file, new Uint8Array([0xff, 0xfe, 0x00, 0x81, 0x5b]));
    const { code, stderr } = await runUnibus(["--config", file]);
    expect(code).toBe(2);
    expect(stderr).toContain("not UTF-8 text");
    expect(readdirSync(dir.path)).toEqual(["binary.toml"]);
  });

  test("an unknown flag is a usage error", async () => {
    const { code, stderr } = await runUnibus(["--confg", "x.toml"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--confg");
  });

  test("the binary under test exists", () => {
    expect(Bun.file(BIN_X64).size).toBeGreaterThan(1_000_000);
  });
});
