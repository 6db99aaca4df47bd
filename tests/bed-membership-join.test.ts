/**
 * A home lab grown, shrunk and repaired by join, on real hosts (Debian under
 * systemd in nspawn boxes), typed the way README's "A home lab" says:
 *
 *   a:        unibus init cluster --name homelab --node a=ADDR --out homelab/
 *             ./install.sh --config homelab/a.toml          (a alone holds the CA key)
 *   b, c:     ./install.sh --join ADDR:6223 --token UB1-…   (the line init cluster printed)
 *   d:        the line `unibus token create` prints on a; no edit on a, b or c
 *   d again:  refused as "b" (a taken name), with nothing left behind
 *   4 → 3:    d dies, `unibus remove d` on b; then c loses power: an R3 stream stays writable
 *   repair:   c's disk is gone; a new c: ./install.sh --join … --name c --replace
 *   tokens:   expired, revoked, tampered: refused (`unibus join --out`, nothing written)
 *   CA:       `unibus ca rotate`, then `unibus ca rotate --finish` on a: every box reissued
 *   leave:    `unibus leave` on c: stopped, and its unit disabled (a reboot does not start it)
 *
 * One describe shares the boxes: each step builds on the one before, as a
 * user's lab does. Timings are printed.
 */
import { afterAll, describe, expect } from "bun:test";
import { join } from "node:path";
import { ROOT } from "./_helpers.ts";
import { Bed, BOX_SRC, bedTest, copyUnibus } from "./bed/index.ts";
import type { Box } from "./bed/box.ts";
import { run } from "./bed/exec.ts";

const it = bedTest();
const CLUSTER = "homelab";
const STREAM = "KEEP";
let bed: Bed | undefined;
const timings: Record<string, number> = {};
/** The join line `init cluster` printed: `install.sh --join ADDRESS --token TOKEN`. */
let first = { address: "", token: "" };
/** A token made with --ttl 1m right after a was installed, refused once it has expired. */
let shortLived = { token: "", madeAt: 0 };

afterAll(async () => {
  await bed?.dispose();
  console.log(`bed membership timings: ${JSON.stringify(timings)}`);
});

const box = (name: string): Box => {
  const b = bed?.boxes.find((x) => x.name === name);
  if (!b) throw new Error(`no box ${name}: the lab was not set up`);
  return b;
};

/** until polls `check` until it returns a value; on timeout it prints what every box saw. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 90_000, everyMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) {
      for (const b of bed?.boxes.filter((x) => x.running) ?? []) {
        console.log(`--- ${b.name}: ${JSON.stringify(await metaOf(b).catch((e) => String(e)))}\n${(await b.sh("unibus status; journalctl -u unibus -o cat --no-pager | tail -30")).stdout}`);
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await Bun.sleep(everyMs);
  }
}

/**
 * metaOf reads the box's nats monitoring on its loopback (the box has no curl:
 * HTTP/1.0 over bash's /dev/tcp is enough): meta group size and leader, routes.
 */
async function metaOf(b: Box): Promise<{ size?: number; leader?: string; routes: string[] }> {
  const r = await b.sh(String.raw`get() { exec 3<>/dev/tcp/127.0.0.1/8222 || return; printf 'GET /%s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3; sed '1,/^\r$/d' <&3; exec 3>&-; }
    get jsz; echo; echo '=====' ; get routez`);
  const [jsz, routez] = r.stdout.split("=====").map((part) => { try { return JSON.parse(part); } catch { return undefined; } });
  return { size: jsz?.meta_cluster?.cluster_size, leader: jsz?.meta_cluster?.leader, routes: (routez?.routes ?? []).map((x: { remote_name?: string }) => x.remote_name ?? "?").sort() };
}

/** formed is true when every box routes to every other, and all count `boxes.length` servers under one meta leader. */
async function formed(boxes: Box[]): Promise<true | undefined> {
  const all = await Promise.all(boxes.map(metaOf));
  const names = boxes.map((b) => b.name);
  const ok = all.every((m, i) => m.size === boxes.length && m.leader && JSON.stringify(m.routes) === JSON.stringify(names.filter((_, j) => j !== i).sort()))
    && new Set(all.map((m) => m.leader)).size === 1;
  return ok ? true : undefined;
}

/** healthy is true when `unibus status` (no flags, the installed layout) exits 0 on every box. */
async function healthy(boxes: Box[]): Promise<true | undefined> {
  const all = await Promise.all(boxes.map((b) => b.sh("unibus status")));
  return all.every((r) => r.code === 0) ? true : undefined;
}

/**
 * client runs a NATS client inside the box's network namespace, on its
 * loopback as a local app would (tests/cluster-netns-client.ts), verifying
 * the node against the installed CA certificate.
 */
async function client(b: Box, op: "setup" | "publish" | "info", count?: number): Promise<any> {
  const r = await run(["nsenter", "-t", String(b.pid1), "-n", "--", process.execPath, join(ROOT, "tests", "cluster-netns-client.ts"), op, b.path("/etc/unibus/certs/ca.pem"), STREAM, ...(count ? [String(count)] : [])], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`NATS client ${op} on ${b.name} exited ${r.code}: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

/** tokenCreate is `sudo unibus token create` on a: it prints the install line for a new box. */
async function tokenCreate(extra = ""): Promise<{ address: string; token: string }> {
  const out = await box("a").mustSh(`unibus token create ${extra}`);
  const m = /install\.sh .*--join (\S+) --token (UB1-\S+)/.exec(out);
  if (!m) throw new Error(`unibus token create printed no install line:\n${out}`);
  return { address: m[1]!, token: m[2]! };
}

/** installJoin is the one command on a new box, timed. */
async function installJoin(b: Box, line: { address: string; token: string }, extra = ""): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  const r = await b.sh(`cd ${BOX_SRC} && ./install.sh --binary ./unibus-linux-x64 --join ${line.address} --token ${line.token} ${extra}`, { timeoutMs: 400_000 });
  // install.sh installs the join's files from a temp folder it removes: no "next:" may point there (the probe saw one).
  expect(`${r.stdout}${r.stderr}`).not.toMatch(/next: .*\/tmp\//);
  return { ...r, ms: Math.round(performance.now() - t0) };
}

/** authErrors counts route/gateway authentication errors in the box's unibus journal. */
async function authErrors(b: Box): Promise<number> {
  return Number((await b.sh("journalctl -u unibus -o cat --no-pager | grep -ciE 'authentication error|authorization violation'")).stdout.trim() || "0");
}

/** joinRefused runs `unibus join … --out DIR` on box b (the binary is installed there) and checks that nothing was written. */
async function joinRefused(token: string, expected: RegExp, serverSide: RegExp): Promise<void> {
  const b = box("b");
  const out = `/root/refused-${Math.random().toString(16).slice(2, 8)}`;
  const mark = Number((await box("a").mustSh("journalctl -u unibus -o cat --no-pager | wc -l")).trim());
  const r = await b.sh(`unibus join ${first.address} --token ${token} --name e --out ${out}`);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(expected);
  expect(r.stderr).not.toContain(token.split("-").at(-1)!);
  expect((await b.sh(`test -e ${out} && echo present || echo absent`)).stdout.trim()).toBe("absent");
  await until(`a to log ${serverSide}`, async () => (serverSide.test((await box("a").mustSh(`journalctl -u unibus -o cat --no-pager | tail -n +${mark + 1}`))) ? true : undefined), 15_000, 250);
}

describe("a home lab grown, shrunk and repaired by join, on real hosts", () => {
  it("a is made with init cluster and holds the CA key; b and c join with the printed line: three boxes form", async () => {
    const t0 = performance.now();
    bed = await Bed.create(4, ["a", "b", "c", "d"]);
    timings.boot_4_boxes_ms = Math.round(performance.now() - t0);
    for (const b of bed.boxes) copyUnibus(b);
    const a = box("a");
    const init = await a.sh(`cd ${BOX_SRC} && ./unibus-linux-x64 init cluster --name ${CLUSTER} --node a=${a.address} --out homelab`);
    expect({ code: init.code, stderr: init.stderr }).toEqual({ code: 0, stderr: "" });
    const printed = /install\.sh .*--join (\S+) --token (UB1-\S+)/.exec(init.stdout);
    expect(printed?.[1]).toBe(`${a.address}:6223`);
    first = { address: printed![1]!, token: printed![2]! };
    const t1 = performance.now();
    const installed = await a.sh(`cd ${BOX_SRC} && ./install.sh --binary ./unibus-linux-x64 --config homelab/a.toml`, { timeoutMs: 400_000 });
    timings.install_a_ms = Math.round(performance.now() - t1);
    expect({ code: installed.code, stderr: installed.stderr }).toEqual({ code: 0, stderr: "" });
    shortLived = { token: (await tokenCreate("--ttl 1m")).token, madeAt: Date.now() };

    // b and c at once, each with the line init cluster printed.
    const joins = await Promise.all(["b", "c"].map((n) => installJoin(box(n), first)));
    joins.forEach((r, i) => {
      const name = ["b", "c"][i]!;
      timings[`install_join_${name}_ms`] = r.ms;
      expect(r.stderr).toContain(`asking to join as "${name}"`);
      expect(r.stdout + r.stderr).toContain(`joined cluster "${CLUSTER}" as "${name}"`);
      expect(r.code).toBe(0);
    });
    const t2 = performance.now();
    await until("a, b and c in one mesh", () => formed([a, box("b"), box("c")]));
    timings.three_formed_after_joins_ms = Math.round(performance.now() - t2);
    expect((await client(a, "setup")).ok).toBe(true);
    expect((await client(box("b"), "publish", 20)).acked).toBe(20);
  }, 900_000);

  it("a box joining under a taken name (--name b) is refused, says how to replace a dead box, and nothing is written or started", async () => {
    const d = box("d");
    const r = await installJoin(d, first, "--name b");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`node name "b" is already a member of cluster "${CLUSTER}"`));
    expect(r.stderr).toContain("--replace");
    expect(r.stderr).toContain("nothing was installed");
    const left = await d.sh("ls -A /etc/unibus /var/lib/unibus /usr/local/bin/unibus /etc/systemd/system/unibus.service 2>&1; id unibus 2>&1; systemctl is-active unibus");
    expect(left.stdout).toContain("/etc/unibus': No such file or directory");
    expect(left.stdout).toContain("/var/lib/unibus': No such file or directory");
    expect(left.stdout).toContain("/usr/local/bin/unibus': No such file or directory");
    expect(left.stdout).toContain("unibus.service': No such file or directory");
    expect(left.stdout).toContain("no such user");
    expect(left.stdout.trim().split("\n").at(-1)).toBe("inactive");
  }, 300_000);

  it("3 → 4: d runs the line `unibus token create` printed on a; no edit on a, b or c; the four form within 10 s of d's service starting", async () => {
    const [a, b, c, d] = ["a", "b", "c", "d"].map(box) as [Box, Box, Box, Box];
    const before = await Promise.all([a, b, c].map((x) => x.mustSh("sha256sum /etc/unibus/unibus.toml")));
    const authBefore = await Promise.all([a, b, c].map(authErrors));
    const line = await tokenCreate();
    const r = await installJoin(d, line);
    timings.install_join_d_ms = r.ms;
    expect(r.stderr).toContain('asking to join as "d"');
    expect(r.code).toBe(0);
    // From the moment systemd started d's unibus (install.sh returns once nats-server is ready).
    const started = (await d.mustSh("systemctl show -p ExecMainStartTimestamp --timestamp=us+utc --value unibus")).trim();
    const stamp = /^\w+ (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3})\d* UTC$/.exec(started);
    const startedAt = stamp ? Date.parse(`${stamp[1]}T${stamp[2]}Z`) : Number.NaN;
    expect(Number.isFinite(startedAt)).toBe(true);
    await until("a, b, c and d in one mesh, one meta leader counting 4", () => formed([a, b, c, d]), 60_000, 100);
    timings.d_started_to_four_formed_ms = Date.now() - startedAt;
    console.log(`bed: d's unibus started at ${started}; four formed ${timings.d_started_to_four_formed_ms} ms later (target 10 s)`);
    expect(timings.d_started_to_four_formed_ms).toBeLessThan(10_000); // issue 13's bound; about 2 s measured on a loaded 2-core machine
    // Nothing was edited on the three running boxes, and no route was refused while d joined.
    expect(await Promise.all([a, b, c].map((x) => x.mustSh("sha256sum /etc/unibus/unibus.toml")))).toEqual(before);
    expect(await Promise.all([a, b, c].map(authErrors))).toEqual(authBefore);
    expect(await authErrors(d)).toBe(0);
    await until("all four healthy", () => healthy([a, b, c, d]), 90_000, 500);
    expect((await client(d, "info")).messages).toBe(20);
  }, 600_000);

  it("the CA private key is on a only: absent from every joined box", async () => {
    const a = box("a");
    expect((await a.mustSh("stat -c '%a %U:%G' /etc/unibus/certs/ca-key.pem")).trim()).toBe("640 root:unibus");
    const keyBody = (await a.mustSh("cat /etc/unibus/certs/ca-key.pem")).replace(/-----[^-]+-----|\s/g, "");
    expect(keyBody.length).toBeGreaterThan(40);
    for (const name of ["b", "c", "d"]) {
      const b = box(name);
      expect({ box: name, certs: (await b.mustSh("ls /etc/unibus/certs")).split("\n").filter(Boolean).sort() }).toEqual({ box: name, certs: ["ca.pem", "node-key.pem", "node.pem"] });
      expect((await b.sh("find / -xdev -name 'ca-key*' 2>/dev/null")).stdout.trim()).toBe("");
      // Every file unibus has here, whatever its name, without the key's body.
      const files = (await b.mustSh("find /etc/unibus /var/lib/unibus -type f -size -1000k")).split("\n").filter(Boolean);
      expect(files.length).toBeGreaterThan(5);
      const all = (await b.mustSh(`cat ${files.join(" ")} | tr -d ' \\n\\r'`));
      expect(all).toContain("BEGINCERTIFICATE");
      expect({ box: name, hasKey: all.includes(keyBody.slice(0, 60)) }).toEqual({ box: name, hasKey: false });
    }
  }, 120_000);

  it("4 → 3: d dies and `unibus remove d` on b takes it out; then c loses power and the R3 stream stays writable", async () => {
    const [a, b, c, d] = ["a", "b", "c", "d"].map(box) as [Box, Box, Box, Box];
    await d.powerCut();
    const t0 = performance.now();
    const r = await b.sh("unibus remove d");
    timings.remove_d_ms = Math.round(performance.now() - t0);
    expect(r.stdout).toContain(`removed "d" from cluster "${CLUSTER}"`);
    expect(r.code).toBe(0);
    await until("a, b and c counting 3 servers", async () => ((await Promise.all([a, b, c].map(metaOf))).every((m) => m.size === 3) ? true : undefined), 60_000);
    await until("a, b and c healthy without d", () => healthy([a, b, c]), 90_000, 500);
    timings.remove_to_healthy_ms = Math.round(performance.now() - t0);

    await c.powerCut();
    const t1 = performance.now();
    const w = await client(a, "publish", 30);
    timings.writes_after_power_cut_ms = Math.round(performance.now() - t1);
    expect(w.acked).toBe(30);
    expect((await client(b, "info")).messages).toBe(50);
    const metas = await Promise.all([a, b].map(metaOf));
    expect(metas.every((m) => m.leader && m.leader === metas[0]!.leader)).toBe(true);
  }, 600_000);

  it("c's disk is gone: a new box named c at c's address replaces it with one command, and the cluster heals", async () => {
    const c = await bed!.replaceBox(2);
    copyUnibus(c);
    const [a, b] = [box("a"), box("b")];
    const line = await tokenCreate();
    const r = await installJoin(c, line, "--name c --replace");
    timings.install_join_replace_c_ms = r.ms;
    expect(r.stderr).toContain('asking to join as "c"');
    expect(r.code).toBe(0);
    const t0 = performance.now();
    await until("a, b and the new c in one mesh", () => formed([a, b, c]), 90_000);
    timings.replace_to_formed_ms = Math.round(performance.now() - t0);
    await until("the new c to hold the stream's 50 messages", async () => ((await client(c, "info")).messages === 50 ? true : undefined), 90_000, 1000);
    await until("a, b and c healthy", () => healthy([a, b, c]), 90_000, 500);
    timings.replace_to_healthy_ms = Math.round(performance.now() - t0);
    expect((await c.sh("ls /etc/unibus/certs")).stdout.split("\n").filter(Boolean).sort()).toEqual(["ca.pem", "node-key.pem", "node.pem"]);
  }, 600_000);
  it("expired, revoked and tampered tokens are refused with nothing written, and a logs why", async () => {
    // Tampered: the secret's last character changed.
    const fresh = await tokenCreate();
    await joinRefused(fresh.token.slice(0, -1) + (fresh.token.endsWith("a") ? "b" : "a"), /refused the join: the proof for join token \w+ is wrong.*Nothing was written/s, /join refused.*proof for join token/);
    // Revoked on a.
    const revoked = await tokenCreate();
    const id = revoked.token.split("-")[2]!;
    expect(await box("a").mustSh(`unibus token revoke ${id}`)).toContain(`revoked join token ${id}`);
    await joinRefused(revoked.token, /join token \w+ was revoked/, /join refused.*was revoked/);
    // Expired: the 1-minute token made right after a was installed.
    const wait = shortLived.madeAt + 61_000 - Date.now();
    if (wait > 0) await Bun.sleep(wait);
    await joinRefused(shortLived.token, /join token \w+ expired on/, /join refused.*expired/);
    expect(await box("a").mustSh("unibus token list")).toMatch(new RegExp(`${id}\\s+revoked`));
  }, 300_000);
  it("the CA is rotated under systemd with `unibus ca rotate` and `--finish`: every box is reissued from the new CA and stays healthy", async () => {
    const [a, b, c] = [box("a"), box("b"), box("c")];
    const statusOf = async (x: Box) => JSON.parse((await x.sh("unibus status --json")).stdout);
    const t0 = performance.now();
    expect(await a.mustSh("unibus ca rotate")).toContain("CA rotation started");
    // The service user reads the new CA key root wrote beside the old one (0640 root:unibus, as install.sh left ca-key.pem).
    expect((await a.mustSh("stat -c '%a %U:%G' /etc/unibus/certs/ca-next-key.pem")).trim()).toBe((await a.mustSh("stat -c '%a %U:%G' /etc/unibus/certs/ca-key.pem")).trim());
    await until("every member to hold a certificate from the new CA", async () => ((await statusOf(a)).ca?.rotation?.pending?.length === 0 ? true : undefined), 180_000, 1000);
    timings.ca_rotation_reissued_ms = Math.round(performance.now() - t0);
    expect(await a.mustSh("unibus ca rotate --finish")).toContain("CA rotation finished");
    const want = (await statusOf(a)).ca.trusted;
    expect(want).toHaveLength(1);
    await until("every box to trust the new CA alone", async () => {
      for (const x of [a, b, c]) if (JSON.stringify((await statusOf(x)).ca?.trusted) !== JSON.stringify(want)) return undefined;
      return true;
    }, 120_000, 1000);
    await until("a, b and c healthy", () => healthy([a, b, c]), 90_000, 500);
    timings.ca_rotation_total_ms = Math.round(performance.now() - t0);
    // a's ca.pem is the new CA now: a client verifying with it reads every message.
    expect((await client(a, "info")).messages).toBe(50);
  }, 600_000);

  it("c leaves with `unibus leave`: its service stops and its unit is disabled, so a reboot does not start a node that refuses to", async () => {
    const [a, b, c] = [box("a"), box("b"), box("c")];
    const r = await c.sh("unibus leave");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("systemd unit unibus.service disabled");
    expect((await c.sh("systemctl is-active unibus; systemctl is-enabled unibus")).stdout).toBe("inactive\ndisabled\n");
    await until("a and b counting 2 servers", async () => ((await Promise.all([a, b].map(metaOf))).every((m) => m.size === 2) ? true : undefined), 60_000);
  }, 120_000);
});
