/**
 * A changed [log] format takes effect on SIGHUP (it was silently ignored):
 * text lines before the reload, JSON lines after it; --log-format on the
 * command line still wins over the file.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { RunningUnibus, freePort, nodeToml, tempDir, writeConfig } from "./_helpers.ts";

const dir = tempDir("unibus-log-format-");
afterAll(() => dir[Symbol.dispose]());

describe("[log] format on SIGHUP", () => {
  test("switching format from text to json applies to the following lines", async () => {
    const ports = { client: await freePort(), monitor: await freePort() };
    const toml = (format: string) => nodeToml({ name: "log-format", ...ports, extra: `[log]\nformat = "${format}"\n` });
    const file = writeConfig(dir.path, toml("text"));
    await using node = new RunningUnibus(["--config", file]);
    await node.ready();
    expect(node.log).toMatch(/^time=\S+ level=info msg="unibus ready"/m);
    const mark = node.log.length;
    writeConfig(dir.path, toml("json"));
    node.proc.kill("SIGHUP");
    await node.waitForLog(/configuration reloaded/, 60_000, mark);
    const after = node.log.slice(mark).split("\n").filter((l) => l.includes("configuration reloaded"));
    expect(after.length).toBeGreaterThan(0);
    for (const line of after) expect(JSON.parse(line).msg).toBe("configuration reloaded");
  });

  test("--log-format on the command line wins over a reloaded file", async () => {
    const ports = { client: await freePort(), monitor: await freePort() };
    const toml = (format: string) => nodeToml({ name: "log-format-flag", ...ports, extra: `[log]\nformat = "${format}"\n` });
    const file = writeConfig(dir.path, toml("text"), "flag.toml");
    await using node = new RunningUnibus(["--config", file, "--log-format", "text"]);
    await node.ready();
    const mark = node.log.length;
    writeConfig(dir.path, toml("json"), "flag.toml");
    node.proc.kill("SIGHUP");
    await node.waitForLog(/configuration reloaded/, 60_000, mark);
    expect(node.log.slice(mark)).toMatch(/^time=\S+ level=info msg="configuration reloaded"/m);
  });
});
