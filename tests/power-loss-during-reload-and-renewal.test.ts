/**
 * unibus's own writes interrupted by a power cut: a node that holds the CA
 * key reloads over and over, each reload with a new SAN in [tls] sans, so it
 * issues and writes a new node certificate and key and re-renders the
 * nats-server config each time; its power is cut (SIGKILL of the VM's qemu)
 * in the middle of that, three times at different moments. Each time the box
 * boots unattended and unibus is ready on its first start: nothing in the
 * data dir is left half-written, and its certificate is whole.
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
`;

/** RELOAD_LOOP changes [tls] sans and reloads, again and again, in the background; each reload issues a certificate. */
const RELOAD_LOOP = `(i=0; while :; do i=$((i+1)); sed -i "s/^sans = .*/sans = [\\"own-$i.lan\\"]/" /etc/unibus/node.toml; /unibus reload --config /etc/unibus/node.toml >>/tmp/reload.log 2>&1; echo "reload $i exit $?" >>/tmp/reloads; done) >/dev/null 2>&1 &`;

describe.if(ready)(`power cut during unibus's own writes (qemu ${VM_ACCEL})`, () => {
  test("a node cut while it reloads and renews its certificate boots unattended and is ready on its first start, three times", async () => {
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
    }, net);
    await vm.boot();
    await vm.waitReady();
    const lines: string[] = [];
    // Cut while the next reload is under way: once the loop finished `done` reloads, plus a little more each round.
    for (const [round, [done, extraMs]] of ([[1, 0], [2, 700], [2, 2_000]] as const).entries()) {
      await vm.run("rm -f /tmp/reloads");
      await vm.run(RELOAD_LOOP);
      const until = Date.now() + 240_000;
      let reloads = 0;
      while ((reloads = Number((await vm.run("cat /tmp/reloads 2>/dev/null | wc -l")).out.trim())) < done) {
        if (Date.now() > until) throw new Error(`the reload loop did ${reloads} reloads in 240 s: ${(await vm.run("tail -n 20 /tmp/reload.log")).out}`);
        await Bun.sleep(250);
      }
      await Bun.sleep(extraMs);
      const issued = (await vm.run("grep -c 'issued node certificate' /tmp/unibus.log")).out.trim();
      await vm.cut();
      await vm.boot();
      const starts = await vm.waitReady();
      const after = await vm.run("/unibus status --config /etc/unibus/node.toml >/tmp/status.txt 2>&1; echo status=$?; grep -E 'level=(error|warn)' /tmp/unibus.log | head -n 5");
      lines.push(`cut ${round + 1} (${extraMs} ms after reload ${reloads} ended; ${issued} certificates issued since boot): ready on start ${starts}, ${after.out.split("\n")[0]}`);
      expect(starts, `round ${round + 1}: ${after.out}`).toBe(1);
      expect(Number(issued), "the reloads issued certificates").toBeGreaterThan(0);
    }
    console.log(lines.join("\n"));
    console.log(`power-loss during reload and renewal: ${((performance.now() - started) / 1000).toFixed(0)} s`);
    await vm.cut(); // done with it: its disk is thrown away
  }, 1_200_000);
});
