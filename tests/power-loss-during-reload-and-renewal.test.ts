/**
 * unibus's own writes interrupted by a power cut (SIGKILL of the VM's qemu),
 * on a node that holds the CA key and takes a scheduled backup every 10 s:
 *   cuts 1 and 2: while it reloads over and over, each reload with a new SAN
 *     in [tls] sans, so it issues and writes a new node certificate and key
 *     and re-renders the nats-server config each time;
 *   cut 3: while it rotates its CA over and over (`ca rotate`, a backup by
 *     hand, `ca rotate --finish`: new CA files, a reissued certificate, the
 *     old key deleted).
 * Each time the box boots unattended and unibus is ready on its first start,
 * every backup file it kept verifies, and after the rotation cut the next
 * rotation step succeeds: nothing in the data dir or beside the CA is left
 * half-written.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BIN_X64 } from "./_helpers.ts";
import { makeCaDir } from "./pki-fixtures.ts";
import { buildGuestBase, guestFiles, makeDisk, makeSystemDisk, Vm, VmNet, VM_ACCEL } from "./vm-fixtures.ts";
import { guestNodeToml, tempDir, vmPrerequisites } from "./power-loss-fixtures.ts";

const ready = vmPrerequisites();
const dir = tempDir("unibus-powerloss-own-");
let net: VmNet | undefined;
let vm: Vm | undefined;
afterAll(async () => {
  await vm?.cut();
  net?.dispose();
  dir[Symbol.dispose]();
});

const CONFIG = `${guestNodeToml("own")}[tls]
ca_cert = "/etc/unibus/ca.pem"
ca_key = "/etc/unibus/ca-key.pem"
sans = ["own-0.lan"]
[backup]
every = "10s"
keep = 3
`;
const CONF = "--config /etc/unibus/node.toml";

/** RELOAD_LOOP changes [tls] sans and reloads, again and again, in the background; each reload issues a certificate. */
const RELOAD_LOOP = `(i=0; while :; do i=$((i+1)); sed -i "s/^sans = .*/sans = [\\"own-$i.lan\\"]/" /etc/unibus/node.toml; /unibus reload --config /etc/unibus/node.toml >>/tmp/reload.log 2>&1; echo "reload $i exit $?" >>/tmp/reloads; done) >/dev/null 2>&1 &`;

/** ROTATE_LOOP rotates the CA again and again (start, a backup by hand, finish), one line per finished step in /tmp/steps. */
const ROTATE_LOOP = `(i=0; while :; do i=$((i+1)); for step in "ca rotate" "backup" "ca rotate --finish"; do /unibus $step ${CONF} >>/tmp/rotate.log 2>&1; echo "$step $i exit $?" >>/tmp/steps; done; done) >/dev/null 2>&1 &`;

/** VERIFY_BACKUPS checks every backup file the node kept (a .partial is an unfinished one, never counted); prints "bad FILE" per failure. */
const VERIFY_BACKUPS = `n=0; for f in /var/lib/unibus/backups/*.tar; do [ -e "$f" ] || continue; n=$((n+1)); /unibus backup inspect "$f" --verify >/dev/null 2>&1 || echo "bad $f"; done; echo "backups=$n"`;

describe.if(ready)(`power cut during unibus's own writes (qemu ${VM_ACCEL})`, () => {
  test("a node cut while it reloads and renews its certificate, and while it rotates its CA and takes backups, boots unattended and is ready on its first start each time", async () => {
    const started = performance.now();
    net = new VmNet();
    const ca = await makeCaDir(dir.path, "ca");
    const system = join(dir.path, "system.img");
    makeSystemDisk(system, BIN_X64, join(dir.path, "system"));
    const disk = join(dir.path, "own.img");
    makeDisk(disk, 1024);
    vm = new Vm({
      index: 1, name: "own", disk, system, dir: dir.path, base: await buildGuestBase(),
      own: guestFiles({ "etc/unibus/node.toml": CONFIG, "etc/unibus/ca.pem": readFileSync(ca.cert), "etc/unibus/ca-key.pem": readFileSync(ca.key) }),
      etcOnDisk: true, // the CA files a rotation rewrites live in /etc/unibus: on disk, as on a real box
    }, net);
    await vm.boot();
    await vm.waitReady();
    const lines: string[] = [];
    // Cut while the next step is under way: once the loop finished `done` steps, plus a little more each round.
    for (const [round, [loop, done, extraMs]] of ([["reload", 1, 0], ["reload", 2, 700], ["rotate", 4, 300]] as const).entries()) {
      await vm.run("rm -f /tmp/reloads /tmp/steps");
      await vm.run(loop === "reload" ? RELOAD_LOOP : ROTATE_LOOP);
      const counter = loop === "reload" ? "/tmp/reloads" : "/tmp/steps";
      const until = Date.now() + 240_000;
      let steps = 0;
      while ((steps = Number((await vm.run(`cat ${counter} 2>/dev/null | wc -l`)).out.trim())) < done) {
        if (Date.now() > until) throw new Error(`the ${loop} loop did ${steps} steps in 240 s: ${(await vm.run(`tail -n 20 /tmp/${loop}.log`)).out}`);
        await Bun.sleep(250);
      }
      await Bun.sleep(extraMs);
      const issued = (await vm.run("grep -c 'issued node certificate' /tmp/unibus.log")).out.trim();
      const before = (await vm.run(`tail -n 3 ${counter}`)).out.trim().replace(/\n/g, "; ");
      await vm.cut();
      await vm.boot();
      const starts = await vm.waitReady();
      const after = await vm.run(`/unibus status ${CONF} >/tmp/status.txt 2>&1; echo status=$?; grep -E 'level=(error|warn)' /tmp/unibus.log | head -n 5`);
      const backups = (await vm.run(VERIFY_BACKUPS)).out.trim();
      lines.push(`cut ${round + 1} (${loop}: ${extraMs} ms after step ${steps} ended [${before}]; ${issued} certificates issued since boot): ready on start ${starts}, ${after.out.split("\n")[0]}, ${backups.split("\n").at(-1)}`);
      expect(starts, `round ${round + 1}: ${after.out}`).toBe(1);
      expect(Number(issued), "the loop issued certificates").toBeGreaterThan(0);
      expect(backups, "every kept backup verifies").not.toContain("bad ");
      if (loop === "rotate") {
        // the rotation goes on from where the cut left it: finish one in progress, else start and finish one
        const next = await vm.run(`test -e /etc/unibus/ca-next.pem && /unibus ca rotate --finish ${CONF} || { /unibus ca rotate ${CONF} && /unibus ca rotate --finish ${CONF}; }`, 120_000);
        lines.push(`  after the rotation cut: ${next.code === 0 ? "the next rotation step succeeded" : next.out}`);
        expect(next.code, next.out).toBe(0);
        const taken = await vm.run(`/unibus backup ${CONF}`, 120_000);
        expect(taken.code, taken.out).toBe(0);
      }
    }
    console.log(lines.join("\n"));
    console.log(`power-loss during reload, renewal, CA rotation and backups: ${((performance.now() - started) / 1000).toFixed(0)} s`);
    await vm.cut(); // done with it: its disk is thrown away
  }, 1_200_000);
});
