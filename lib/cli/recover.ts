/**
 * recover.ts implements `unibus recover`: on the last survivor of a lost
 * majority (two of three boxes dead for good), make it a cluster of one with
 * its data, writable again, ready for new boxes to join
 * (lib/membership/recover.ts does the work through the running node).
 */
import { createInterface } from "node:readline/promises";
import { loadConfig } from "../config/load.ts";
import { unibusCommand } from "../config/installed.ts";
import { ConfigError, RefusedError, RuntimeError, UsageError } from "../errors.ts";
import { describeLoss, planRecover, recoverAlone } from "../membership/recover.ts";
import { configPath, parseCommand } from "./_flags.ts";
import { runningNode } from "./reload.ts";

/** run checks, says what will be lost, asks (or takes --yes), and recovers. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand("recover", args);
  const config = loadConfig(configPath(values.config));
  if (!config.cluster) throw new ConfigError(`${config.file} has no [cluster]: a single node has no majority to lose`);
  if (!runningNode(config.node.dataDir)) {
    throw new RuntimeError(`unibus is not running with ${config.file}: recover works through this node's nats-server. Start it (systemctl start unibus), wait until \`unibus status\` says the meta group has no leader, then run recover again`);
  }
  const out = process.stdout;
  const plan = await planRecover(config);
  out.write(`unibus recover: make ${plan.self} a cluster of one in "${plan.cluster}", taking out ${plan.lost.map((l) => l.name).join(", ")} for good\n`);
  for (const l of plan.lost) {
    const heard = l.lastHeardMs !== undefined ? `last heard ${Math.round(l.lastHeardMs / 1000)} s ago` : "no contact on record";
    out.write(`  ${l.name}: ${heard}${l.addresses.length ? `; probed ${l.addresses.join(", ")}` : ""}\n`);
  }
  out.write("what is kept and what is lost:\n");
  for (const line of describeLoss(plan)) out.write(`  ${line}\n`);
  if (plan.aliveSigns.length) {
    const signs = plan.aliveSigns.map((s) => `  - ${s}`).join("\n");
    if (!values.force) {
      throw new RefusedError(`refusing: another member may still be alive, and two halves that both take writes cannot be merged again:\n${signs}\n` +
        "Power those boxes off (or stop unibus on them) and run recover again; if they are gone for good and this is wrong, add --force");
    }
    out.write(`going on despite (--force):\n${signs}\n`);
  }
  if (!values.yes) {
    if (!process.stdin.isTTY) throw new UsageError("add --yes to go ahead without a question (stdin is not a terminal)");
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = (await rl.question(`type ${plan.self} to make it a cluster of one: `)).trim();
    rl.close();
    if (answer !== plan.self) {
      out.write("nothing changed\n");
      return 1;
    }
  }
  const result = await recoverAlone(config, plan, (text) => out.write(`... ${text}\n`));
  out.write(`${plan.self} is a cluster of one (meta leader after ${result.leaderMs} ms, done in ${result.totalMs} ms): removed ${result.removed.join(", ")}; ${result.writable.length} stream${result.writable.length === 1 ? "" : "s"} writable here\n`);
  if (result.notYetWritable.length) out.write(`not led here yet (check again with unibus status): ${result.notYetWritable.join(", ")}\n`);
  if (!result.membersRecorded) out.write(`no CA holder answered, so the members list was marked here only; without a CA holder no new box can join: see README "When things go wrong" (the CA holder is dead)\n`);
  out.write(`streams keep their replica count: an R3 stream has 1 replica now and gets its other 2 as soon as two new boxes join.\n` +
    `next: ${unibusCommand(config.file, "token create")} here, and the line it prints on each new box. Give new boxes new names: ${result.removed.join(" and ")} stay retired in JetStream.\n`);
  return 0;
}
