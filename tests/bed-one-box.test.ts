/**
 * One real host: a Debian bookworm box booted with systemd 252, driven the way
 * a user drives it: install.sh, systemctl, journalctl, kill, an editor on
 * /etc/unibus/unibus.toml, and `unibus` itself without flags.
 */
import { afterAll, expect } from "bun:test";
import { connect } from "@nats-io/transport-node";
import { BIN_X64 } from "./_helpers.ts";
import { Bed, BOX_SRC, bedTest, copyUnibus } from "./bed/index.ts";
import type { Box } from "./bed/box.ts";

const it = bedTest();
let bed: Bed | undefined;
afterAll(async () => {
  await bed?.dispose();
});

const PASSWORD = "one-box-password";

/** config is the node.toml a user writes by hand: a LAN client port with one user, and a lame duck. */
function config(passwordHash: string): string {
  return `# one box, written by hand
[node]
name = "box-1"
# nats-server's minimum; systemd's TimeoutStopSec must outlast it
lame_duck_duration = "30s"

[client]
listen = "0.0.0.0:4222"

[[client.users]]
user = "app"
password_hash = "${passwordHash}"

[log]
level = "info"
`;
}

/** show reads one property of the unibus unit. */
async function show(box: Box, property: string): Promise<string> {
  return (await box.mustSh(`systemctl show -p ${property} --value unibus`)).trim();
}

/** waitFor polls a box until check returns a value, or fails with the last state it saw. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(200);
  }
}

const timings: [string, number][] = [];
async function step<T>(name: string, body: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const value = await body();
  timings.push([name, Math.round(performance.now() - t0)]);
  return value;
}

it("one box: install, status, reload, stop, kill -9, a broken config, and uninstall --purge, as a user sees them", async () => {
  const t0 = performance.now();
  bed = await step("boot", () => Bed.create(1));
  const box = bed.boxes[0]!;
  copyUnibus(box);
  const hash = Bun.spawnSync([BIN_X64, "passwd"], { stdin: new TextEncoder().encode(PASSWORD) }).stdout.toString().trim();
  await box.mustSh(`mkdir -p /root/node && cat > /root/node/node.toml`, { stdin: config(hash) });

  // install.sh --config: active, enabled, and a Status= that says something.
  const installed = await step("install.sh --config", () => box.sh(`cd ${BOX_SRC} && ./install.sh --binary ./unibus-linux-x64 --config /root/node/node.toml`));
  expect({ code: installed.code, stderr: installed.stderr }).toEqual({ code: 0, stderr: "" });
  expect(installed.stdout).toContain("starting unibus.service");
  // Where the admin page is and its token, as the installed node serves them (the probe found no word of either).
  expect(installed.stdout).toContain("admin page: http://127.0.0.1:8480/ (its token: sudo cat /var/lib/unibus/admin.token)");
  expect((await box.sh("systemctl is-active unibus")).stdout.trim()).toBe("active");
  expect((await box.sh("systemctl is-enabled unibus")).stdout.trim()).toBe("enabled");
  expect(await show(box, "StatusText")).toStartWith("nats-server ready on 0.0.0.0:4222");
  // Ready is not healthy: the status line carries the verdict too, within its 10 s check interval.
  const healthy = "nats-server ready on 0.0.0.0:4222; health: HEALTHY: node box-1 is healthy; no problems";
  await waitFor("Status= to carry the health verdict", async () => ((await show(box, "StatusText")) === healthy ? true : undefined), 30_000);
  expect(await show(box, "TimeoutStopUSec")).toBe("3min"); // lame duck 30 s + margin, at least 180 s

  // The installed paths are the defaults: no flags needed.
  const status = await box.sh("unibus status");
  expect(status.code).toBe(0);
  const check = await box.sh("unibus config check");
  expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 0, stderr: "" });
  expect(check.stdout).toContain("/etc/unibus/unibus.toml: valid");
  expect(check.stdout).toContain("/var/lib/unibus");
  // A user who is not root is told to use sudo, not that the file is missing.
  const asNobody = await box.sh("setpriv --reuid=nobody --regid=nogroup --clear-groups unibus status");
  expect(asNobody.code).toBe(77); // EX_NOPERM: not 2, which says the config is invalid
  expect(asNobody.stderr).toContain("cannot read /etc/unibus/unibus.toml: permission denied");
  expect(asNobody.stderr).toContain("sudo");
  // The admin token is a secret: the journal says where it is, never what it is.
  const adminToken = (await box.mustSh("cat /var/lib/unibus/admin.token")).trim();
  expect(adminToken.length).toBeGreaterThan(20);
  expect(await box.mustSh("journalctl -u unibus -o cat --no-pager")).not.toContain(adminToken);

  // A valid change: systemctl reload applies it and exits 0.
  await box.mustSh(`sed -i 's/^level = "info"/level = "debug"/' /etc/unibus/unibus.toml`);
  const reloaded = await step("systemctl reload (valid)", () => box.sh("systemctl reload unibus"));
  expect({ code: reloaded.code, stderr: reloaded.stderr }).toEqual({ code: 0, stderr: "" });
  expect(await box.mustSh("journalctl -u unibus -o cat --no-pager | tail -n 20")).toContain("configuration reloaded");

  // A change unibus refuses: systemctl reload fails, the reason is in the journal at error level, the node keeps running.
  const mainPid = await show(box, "MainPID");
  await box.mustSh(`printf '\\n[monitor]\\nlisten = "127.0.0.1:8223"\\n' >> /etc/unibus/unibus.toml`);
  const refused = await step("systemctl reload (refused)", () => box.sh("systemctl reload unibus"));
  expect(refused.code).not.toBe(0);
  const errors = await box.mustSh("journalctl -u unibus -p err -o cat --no-pager");
  expect(errors).toContain("reload refused");
  expect(errors).toContain("monitor.listen cannot change while running");
  expect((await box.sh("systemctl is-active unibus")).stdout.trim()).toBe("active");
  expect(await show(box, "MainPID")).toBe(mainPid);
  expect(await show(box, "StatusText")).toContain("reload refused");
  await box.mustSh(`printf '%s' "$(head -n -3 /etc/unibus/unibus.toml)" > /etc/unibus/unibus.toml.new && echo >> /etc/unibus/unibus.toml.new && mv /etc/unibus/unibus.toml.new /etc/unibus/unibus.toml && chown root:unibus /etc/unibus/unibus.toml && chmod 640 /etc/unibus/unibus.toml`);
  expect((await box.sh("systemctl reload unibus")).code).toBe(0);

  // systemctl stop with a lame duck and a client connected from the LAN: nats-server tells the
  // client (lame duck mode), closes it after its grace period, and the unit ends cleanly,
  // inside TimeoutStopSec.
  const client = await connect({ servers: `nats://${box.address}:4222`, user: "app", pass: PASSWORD, reconnect: false, timeout: 10_000 });
  let lameDuckSeen = false;
  void (async () => {
    for await (const s of client.status()) if (s.type === "ldm") lameDuckSeen = true;
  })();
  const closed = client.closed();
  const stopStart = performance.now();
  const stopped = await step("systemctl stop (lame duck 30s, one client)", () => box.sh("systemctl stop unibus", { timeoutMs: 200_000 }));
  const stopMs = performance.now() - stopStart;
  await closed;
  expect(stopped.code).toBe(0);
  expect(lameDuckSeen).toBe(true);
  expect({ result: await show(box, "Result"), status: await show(box, "ExecMainStatus"), active: (await box.sh("systemctl is-active unibus")).stdout.trim() })
    .toEqual({ result: "success", status: "0", active: "inactive" });
  expect(stopMs).toBeGreaterThan(5_000); // the lame duck ran: nats-server waits a grace period before closing clients
  expect(stopMs).toBeLessThan(180_000);
  expect((await box.sh("pgrep '^nats-server'")).code).toBe(1); // nothing left behind
  expect((await box.sh("systemctl start unibus")).code).toBe(0);

  // kill -9 of unibus: systemd starts it again, and exactly one nats-server runs, the new unibus's.
  const killed = await show(box, "MainPID");
  const restartedPid = await step("kill -9 → restarted", async () => {
    await box.mustSh(`kill -9 ${killed}`);
    return waitFor("unibus to be restarted", async () => {
      const pid = await show(box, "MainPID");
      const active = (await box.sh("systemctl is-active unibus")).stdout.trim();
      return active === "active" && pid !== "0" && pid !== killed ? pid : undefined;
    });
  });
  expect(Number(await show(box, "NRestarts"))).toBe(1);
  const natsPids = (await box.mustSh("pgrep '^nats-server'")).trim().split("\n");
  expect(natsPids).toHaveLength(1);
  const cgroupOfNats = (await box.mustSh(`cat /proc/${natsPids[0]}/cgroup`)).trim();
  expect(cgroupOfNats).toContain("unibus.service");
  expect((await box.mustSh(`ps -o ppid= -p ${natsPids[0]}`)).trim()).toBe(restartedPid);

  // A config broken by hand: one failed start, no retries, and systemctl status says why.
  await box.mustSh(`cp -p /etc/unibus/unibus.toml /root/good.toml && sed -i 's/^listen = "0.0.0.0:4222"/listen = "0.0.0.0:99999"/' /etc/unibus/unibus.toml`);
  const restarted = await step("restart with a broken config", () => box.sh("systemctl restart unibus"));
  expect(restarted.code).not.toBe(0);
  await Bun.sleep(7_000); // RestartSec=5s: a retry would have happened by now
  expect({ active: (await box.sh("systemctl is-active unibus")).stdout.trim(), restarts: await show(box, "NRestarts"), status: await show(box, "ExecMainStatus") })
    .toEqual({ active: "failed", restarts: "0", status: "2" }); // a manual restart resets NRestarts; a retry would count
  const said = (await box.sh("systemctl status --no-pager --lines=20 unibus")).stdout;
  expect(said).toContain("status=2");
  expect(said).toContain("/etc/unibus/unibus.toml");
  expect(said).toContain("client.listen");
  await box.mustSh("cp -p /root/good.toml /etc/unibus/unibus.toml && systemctl start unibus");

  // install.sh --uninstall --purge leaves nothing behind.
  const [uid, gid] = (await box.mustSh("id -u unibus; id -g unibus")).trim().split("\n");
  const purged = await step("install.sh --uninstall --purge", () => box.sh(`cd ${BOX_SRC} && ./install.sh --uninstall --purge --yes`));
  expect(purged.code).toBe(0);
  const leftovers = await box.sh(String.raw`
    for p in /etc/unibus /var/lib/unibus /usr/local/bin/unibus /etc/systemd/system/unibus.service /etc/systemd/system/multi-user.target.wants/unibus.service /etc/.unibus.staged /etc/.unibus.previous; do
      [ -e "$p" ] && echo "left: $p"
    done
    getent passwd unibus && echo "left: user unibus"
    getent group unibus && echo "left: group unibus"
    pgrep -a '^nats-server' && echo "left: nats-server"
    pgrep -a -x unibus && echo "left: unibus process"
    systemctl list-units --all --no-legend 'unibus*' | grep . && echo "left: a unit"
    find / -xdev \( -uid ${uid} -o -gid ${gid} -o -name '*unibus*' \) -not -path '/root/*' -not -path '/proc/*' 2>/dev/null | sed 's/^/left: /'
    true`);
  expect(leftovers.stdout.split("\n").filter((l) => l.startsWith("left:"))).toEqual([]);

  const total = Math.round(performance.now() - t0);
  console.log(`bed one-box journey: ${total} ms; ${timings.map(([n, ms]) => `${n} ${ms} ms`).join("; ")}`);
}, 600_000);
