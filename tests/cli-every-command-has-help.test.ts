/**
 * Every command in the command table answers --help with its own usage
 * (exit 0), `unibus help` lists every command, and a usage error ends with
 * the command's usage: help and usage come from one table.
 */
import { describe, expect, test } from "bun:test";
import { COMMAND_GROUPS, COMMAND_TABLE } from "../lib/cli/commands.ts";
import { runUnibus, tempDir } from "./_helpers.ts";

describe("command table", () => {
  for (const spec of COMMAND_TABLE) {
    test(`"unibus ${spec.name} --help" prints its usage and exits 0`, async () => {
      for (const flag of ["--help", "-h"]) {
        const r = await runUnibus([...spec.name.split(" "), flag]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout.startsWith(`usage: unibus ${spec.name}`)).toBe(true);
        expect(r.stdout).toContain(spec.summary);
      }
    });
  }

  test("the groups are the table's shared first words", () => {
    expect([...COMMAND_GROUPS].sort()).toEqual(["ca", "cert", "config", "edge", "init", "nkey", "token", "user"]);
  });

  for (const group of COMMAND_GROUPS) {
    const members = COMMAND_TABLE.filter((c) => c.name.startsWith(`${group} `));
    test(`"unibus ${group}" alone prints the group's usage on stderr (exit 2); "help ${group}" and "${group} --help" on stdout (exit 0)`, async () => {
      const bare = await runUnibus([group]);
      expect(bare.code).toBe(2);
      expect(bare.stdout).toBe("");
      expect(bare.stderr).not.toContain("unknown command");
      expect(bare.stderr).toContain(`"unibus ${group}" needs a command`);
      expect(bare.stderr).toContain(`usage: unibus ${group} COMMAND`);
      for (const m of members) expect(bare.stderr).toContain(`unibus ${m.name}`);
      for (const args of [["help", group], [group, "--help"]]) {
        const r = await runUnibus(args);
        expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
        expect(r.stdout).toStartWith(`usage: unibus ${group} COMMAND`);
        for (const m of members) expect(r.stdout).toContain(m.summary);
      }
      const typo = await runUnibus([group, "nope"]);
      expect(typo.code).toBe(2);
      expect(typo.stderr).toContain(`unknown command "${group} nope"`);
      expect(typo.stderr).toContain(`usage: unibus ${group} COMMAND`);
    }, 60_000); // four runs of the executable on a loaded machine
  }

  test("unibus help lists every command and help NAME prints one usage", async () => {
    const r = await runUnibus(["help"]);
    expect(r.code).toBe(0);
    for (const spec of COMMAND_TABLE) expect(r.stdout).toContain(`unibus ${spec.name}`);
    const one = await runUnibus(["help", "cert", "issue"]);
    expect(one.code).toBe(0);
    expect(one.stdout).toStartWith("usage: unibus cert issue");
    for (const flag of ["--help", "-h"]) {
      const self = await runUnibus(["help", flag]);
      expect({ code: self.code, stderr: self.stderr }).toEqual({ code: 0, stderr: "" });
      expect(self.stdout).toContain("unibus help [COMMAND]");
    }
    const bad = await runUnibus(["help", "no-such"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown command "no-such"');
  });

  test("a usage error names the problem and ends with the command's usage", async () => {
    const r = await runUnibus(["ca", "create", "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: .*--bogus/);
    expect(r.stderr).toContain("usage: unibus ca create --out DIR");
  });

  test("nats-server arguments after -- are not taken as unibus help", async () => {
    using dir = tempDir("unibus-cli-help-");
    const r = await runUnibus(["nats-server", "--data-dir", dir.path, "--", "--help"], { timeoutMs: 60_000 });
    expect(r.stdout).not.toContain("usage: unibus nats-server");
  });
});
