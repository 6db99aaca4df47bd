/**
 * A refusal because of the cluster's state (`unibus recover` while the meta
 * group still has a leader, or while another member may be alive) exits 2 as
 * README says, without the command's usage after it: on the bed the reason
 * was followed by eleven lines of usage that hid it. main.ts appends usage to
 * UsageError only.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ExitCode, RefusedError, UsageError } from "../../lib/errors.ts";
import { ROOT } from "../_helpers.ts";

test("a refusal exits 2 and is no usage error", () => {
  const err = new RefusedError("the JetStream meta group has a leader (pi-1)");
  expect(err.exitCode).toBe(ExitCode.usage);
  expect(err instanceof UsageError).toBe(false);
});

test("recover's refusals are refusals, not usage errors", () => {
  for (const file of ["lib/membership/recover.ts", "lib/cli/recover.ts"]) {
    const src = readFileSync(join(ROOT, file), "utf8");
    for (const reason of ["the JetStream meta group has a leader", "this node is the only server in its JetStream meta group", "refusing: another member may still be alive"]) {
      if (src.includes(reason)) expect(src).toContain(`throw new RefusedError(\`${reason}`);
    }
  }
});
