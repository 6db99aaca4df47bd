/**
 * Backups on real hosts under systemd: a box installed with install.sh and a
 * [backup] dir on another path (/srv) takes scheduled backups as the
 * hardened service user; `sudo unibus backup` takes one by hand; a second,
 * fresh box installed the same way gets every stream, key and object back
 * with `sudo unibus restore FILE`, checked from a client on the LAN.
 */
import { afterAll, expect } from "bun:test";
import { copyFileSync, readdirSync, statSync } from "node:fs";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { BIN_X64 } from "./_helpers.ts";
import { Bed, BOX_SRC, bedTest, copyUnibus } from "./bed/index.ts";
import type { Box } from "./bed/box.ts";

const it = bedTest();
let bed: Bed | undefined;
const conns: NatsConnection[] = [];
afterAll(async () => {
  for (const nc of conns) await nc.close().catch(() => {});
  await bed?.dispose();
});

const PASSWORD = "backup-bed-password";

function config(name: string, passwordHash: string): string {
  return `[node]
name = "${name}"

[client]
listen = "0.0.0.0:4222"

[[client.users]]
user = "app"
password_hash = "${passwordHash}"

[backup]
dir = "/srv/unibus-backups"
every = "20s"
keep = 2
`;
}

async function install(box: Box, hash: string): Promise<void> {
  copyUnibus(box);
  await box.mustSh("mkdir -p /root/node && cat > /root/node/node.toml", { stdin: config(box.name, hash) });
  const r = await box.sh(`cd ${BOX_SRC} && ./install.sh --binary ./unibus-linux-x64 --config /root/node/node.toml`, { timeoutMs: 300_000 });
  expect({ box: box.name, code: r.code, stderr: r.stderr }).toEqual({ box: box.name, code: 0, stderr: "" });
}

async function client(box: Box): Promise<NatsConnection> {
  const nc = await connect({ servers: `nats://${box.address}:4222`, user: "app", pass: PASSWORD, timeout: 10_000 });
  conns.push(nc);
  return nc;
}

it("a box under systemd backs up on schedule and by hand, and a fresh box gets everything back with unibus restore", async () => {
  bed = await Bed.create(2);
  const [one, two] = bed.boxes as [Box, Box];
  const hash = Bun.spawnSync([BIN_X64, "passwd"], { stdin: new TextEncoder().encode(PASSWORD) }).stdout.toString().trim();
  await Promise.all([install(one, hash), install(two, hash)]);

  const nc = await client(one);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  const js = jetstream(nc);
  for (let i = 0; i < 500; i++) {
    const h = headers();
    h.set("n", String(i));
    await js.publish(`orders.${i % 5}`, `order ${i} ${"x".repeat(i % 300)}`, { headers: h });
  }
  const kv = await new Kvm(nc).create("settings");
  for (let i = 0; i < 50; i++) await kv.put(`k${i}`, `v${i}`);
  const os = await new Objm(nc).create("files");
  const blob = crypto.getRandomValues(new Uint8Array(300_000));
  await os.putBlob({ name: "firmware.bin" }, blob);

  // The hardened service writes its scheduled backups into /srv/unibus-backups (install.sh made it for unibus).
  const dir = one.path("/srv/unibus-backups");
  const until = Date.now() + 120_000;
  let files: string[] = [];
  while (Date.now() < until) {
    files = readdirSync(dir).filter((f) => /^unibus-backup-box-1-\d{8}T\d{6}Z\.tar$/.test(f)).sort();
    // A scheduled backup taken after the streams above were made holds all three.
    if (files.length) {
      const inspect = await one.sh(`unibus backup inspect /srv/unibus-backups/${files.at(-1)} --json`);
      if (inspect.code === 0 && JSON.parse(inspect.stdout).streams.length === 3) break;
    }
    await Bun.sleep(1_000);
  }
  expect(files.length).toBeGreaterThan(0);
  const owner = (await one.mustSh(`stat -c %U:%a /srv/unibus-backups /srv/unibus-backups/${files.sort().at(-1)}`)).trim().split("\n");
  expect(owner).toEqual(["unibus:700", "unibus:600"]);
  const status = await one.sh("unibus status");
  expect(status.stdout).not.toContain("backup_");

  // By hand, as root, with the installed config.
  const manual = await one.sh("unibus backup --out /root/box-1.tar", { timeoutMs: 120_000 });
  expect({ code: manual.code, stderr: manual.stderr }).toEqual({ code: 0, stderr: "" });
  expect(manual.stdout).toContain("3 streams (1 KV bucket, 1 object store)");

  // The file goes to the fresh box (as a user would scp it) and comes back there.
  copyFileSync(one.path("/root/box-1.tar"), two.path("/root/box-1.tar"));
  const restored = await two.sh("unibus restore /root/box-1.tar", { timeoutMs: 180_000 });
  expect({ code: restored.code, stderr: restored.stderr }).toEqual({ code: 0, stderr: "" });
  expect(restored.stdout).toContain("restored stream ORDERS: 500 messages");

  const nc2 = await client(two);
  const jsm2 = await jetstreamManager(nc2);
  for (let seq = 1; seq <= 500; seq++) {
    const a = (await jsm.streams.getMessage("ORDERS", { seq }))!;
    const b = (await jsm2.streams.getMessage("ORDERS", { seq }))!;
    expect({ seq, subject: b.subject, data: b.string(), n: b.header?.get("n") }).toEqual({ seq, subject: a.subject, data: a.string(), n: a.header?.get("n") });
  }
  const kv2 = await new Kvm(nc2).open("settings");
  for (let i = 0; i < 50; i++) expect((await kv2.get(`k${i}`))?.string()).toBe(`v${i}`);
  const got = await (await new Objm(nc2).open("files")).getBlob("firmware.bin");
  expect(Buffer.from(got!).equals(Buffer.from(blob))).toBe(true);
  expect(statSync(two.path("/root/box-1.tar")).size).toBeGreaterThan(300_000);
}, 900_000);
