/**
 * The renewal timer never checks the certificate on its own: it hands the
 * check to the node's serialized changes, so a renewal waits for a SIGHUP
 * reload in progress (and vice versa) instead of interleaving with it.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { parseConfigText } from "../../lib/config/load.ts";
import { IdentityManager } from "../../lib/identity.ts";
import { Logger } from "../../lib/log.ts";
import { makeCaDir } from "../pki-fixtures.ts";
import { tempDir, waitFor } from "../_helpers.ts";

const dir = tempDir("unibus-renewal-race-");
afterAll(() => dir[Symbol.dispose]());

test("a renewal check that comes due during a reload runs after the reload, inside the serialized changes", async () => {
  const ca = await makeCaDir(dir.path, "ca");
  const config = parseConfigText(`[node]\nname = "renew"\ndata_dir = "data"\n[tls]\nca_cert = "${ca.cert}"\nca_key = "${ca.key}"\n`, join(dir.path, "node.toml"), {});
  const events: string[] = [];
  // The node's #serialized: one change at a time, in order.
  let changes: Promise<unknown> = Promise.resolve();
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const run = changes.then(work, work);
    changes = run.catch(() => {});
    return run;
  };
  class Spy extends IdentityManager {
    override async ensure(now?: Date): Promise<boolean> {
      events.push("ensure");
      return super.ensure(now);
    }
  }
  const identity = new Spy(config, new Logger({ sink: () => {} }), (check) => serialized(async () => {
    events.push("renewal check");
    if (await check()) events.push("renewed");
  }));
  await identity.ensure();
  events.length = 0;

  let finishReload!: () => void;
  const reload = serialized(async () => {
    events.push("reload start");
    await new Promise<void>((resolve) => { finishReload = resolve; });
    events.push("reload end");
  });
  await waitFor("the reload to hold the serialized section", () => events.includes("reload start"));
  identity.startRenewalTimer(5);
  await Bun.sleep(200); // the timer has fired and is waiting for its turn
  expect(events).toEqual(["reload start"]);
  finishReload();
  await reload;
  await waitFor("the renewal check", () => events.includes("ensure"), 5_000, 10);
  identity.stopRenewalTimer();
  expect(events).toEqual(["reload start", "reload end", "renewal check", "ensure"]);
});
