/**
 * vm-fixtures.ts runs unibus nodes in KVM virtual machines whose power can be
 * cut: Debian's amd64 kernel (scripts/fetch-vm.ts) boots an initramfs of
 * busybox-static, the host's glibc and the x64 executable, mounts an ext4
 * virtio disk (made with mkfs.ext4 on the host) as data_dir and starts the
 * node the way its unit would (restarted 5 s after a failure). SIGKILL of the
 * qemu process is the power cut: whatever the guest kernel had not written to
 * its disk (its page cache) is gone, what it flushed is in the image file.
 *
 * Each guest has a tap on a bridge inside a network namespace; a veth joins
 * that bridge to the test's own namespace, so the test's NATS client reaches
 * every guest and a partition is one tap taken off the bridge. A second
 * serial port carries commands (`Vm.run`), independent of the network.
 */
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import type { Subprocess } from "bun";
import { fetchVmParts, VM_MODULES } from "../scripts/fetch-vm.ts";
import { cpioNewc } from "./board-fixtures.ts";
import { UNIT_ENV } from "./board-fixtures.ts";
import { tearDownOnSignal } from "./_teardown.ts";

/** QEMU_X86 is Debian's qemu-system-x86 emulator (run with -enable-kvm). */
export const QEMU_X86 = "/usr/bin/qemu-system-x86_64";
/** GLIBC_FILES are the host libraries the x64 executable links (ldd), copied into the guest. */
const GLIBC_FILES = ["/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libpthread.so.0", "/lib/x86_64-linux-gnu/libdl.so.2", "/lib/x86_64-linux-gnu/libm.so.6"];

/**
 * hardwareKvm tells whether the host's /dev/kvm is hardware virtualisation
 * (the kvm_intel or kvm_amd module), which boots any x86 kernel. Some cloud
 * machines (this suite's CI among them) offer /dev/kvm through kvm_pvm
 * instead: PVM runs only kernels built as PVM guests and pushes every other
 * guest through KVM's instruction emulator, where Debian's kernel crawls
 * (clear_bss at about half a megabyte a second) and then stops at its first
 * VEX-encoded instruction ("KVM internal error. Suberror: 1").
 */
function hardwareKvm(): boolean {
  return existsSync("/sys/module/kvm_intel") || existsSync("/sys/module/kvm_amd");
}

/**
 * VM_ACCEL is the accelerator the guests run on: UNIBUS_VM_ACCEL=kvm or tcg
 * chooses; otherwise KVM when /dev/kvm opens and is hardware KVM, else qemu's
 * TCG emulator. The power cut is the same on both: SIGKILL of qemu loses the
 * guest's page cache. VM_ACCEL_REASON says why, for the test output.
 */
export const VM_ACCEL: "kvm" | "tcg" = process.env.UNIBUS_VM_ACCEL === "kvm" ? "kvm"
  : process.env.UNIBUS_VM_ACCEL === "tcg" ? "tcg"
  : kvmUsable() && hardwareKvm() ? "kvm" : "tcg";

/** VM_ACCEL_REASON says in words why VM_ACCEL was chosen. */
export const VM_ACCEL_REASON = process.env.UNIBUS_VM_ACCEL ? `UNIBUS_VM_ACCEL=${process.env.UNIBUS_VM_ACCEL}`
  : VM_ACCEL === "kvm" ? "/dev/kvm is hardware KVM"
  : !kvmUsable() ? "no usable /dev/kvm"
  : existsSync("/sys/module/kvm_pvm") ? "/dev/kvm is PVM, which cannot run Debian's kernel"
  : "/dev/kvm is not hardware KVM";

function accelArgs(): string[] {
  return VM_ACCEL === "kvm" ? ["-enable-kvm", "-cpu", "host,-arch-capabilities"] : ["-accel", "tcg,thread=multi", "-cpu", "max"];
}

/** kvmUsable tells whether this process may open /dev/kvm read-write (qemu's -enable-kvm needs it). */
export function kvmUsable(): boolean {
  try {
    closeSync(openSync("/dev/kvm", "r+"));
    return true;
  } catch {
    return false;
  }
}

const DIR = 0o040755;
const FILE = 0o100644;
const EXEC = 0o100755;
const CHAR = 0o020600;
const enc = new TextEncoder();

/**
 * guestInit is the guest's /init (busybox sh). It prints `BOOT key=value`
 * lines on the console, starts unibus under a restart loop like the unit's
 * Restart=on-failure, and serves commands from the second serial port:
 * each line `ID COMMAND` is run by sh and answered with `OUT ID line`s and
 * `DONE ID EXIT`.
 */
function guestInit(): string {
  return `#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
export PATH=/bin HOME=/root
mount -t proc proc /proc; mount -t sysfs sys /sys
mkdir -p /tmp /root /run /var/lib/unibus /system
for m in ${VM_MODULES.join(" ")}; do insmod /modules/$m.ko || echo "BOOT insmod_failed=$m"; done
arg() { tr ' ' '\\n' </proc/cmdline | sed -n "s/^unibus\\.$1=//p"; }
hostname "$(arg name)"
ip link set lo up
ip link set eth0 up
ip addr add "$(arg ip)" dev eth0
t0=$(cut -d' ' -f1 /proc/uptime)
mount -t ext4 -o ro,noload /dev/vdb /system && ln -s /system/unibus /unibus
if [ "$(arg etc)" = disk ]; then
  # /etc/unibus on the data disk too (seeded once from the initramfs), as on a real box: what unibus writes there survives.
  mkdir -p /disk
  if mount -t ext4 /dev/vda /disk; then echo "BOOT mounted=yes"; else echo "BOOT mounted=no"; fi
  if [ ! -d /disk/etc ]; then mkdir -p /disk/etc /disk/data && cp -a /etc/unibus/. /disk/etc/ && sync; fi
  mount --bind /disk/etc /etc/unibus
  mount --bind /disk/data /var/lib/unibus
elif mount -t ext4 /dev/vda /var/lib/unibus; then echo "BOOT mounted=yes"; else echo "BOOT mounted=no"; fi
config=$(arg config)
[ -n "$config" ] || config=/etc/unibus/node.toml
echo "BOOT kernel=$(uname -r) mem_kib=$(awk '/MemTotal/ { print $2 }' /proc/meminfo) dirty_expire_cs=$(cat /proc/sys/vm/dirty_expire_centisecs)"
(
  starts=0
  while :; do
    # Like a unit not installed yet (no config) or stopped (/run/unibus.off): nothing starts.
    if [ ! -f "$config" ] || [ -e /run/unibus.off ]; then sleep 1; continue; fi
    starts=$((starts + 1))
    echo "BOOT unibus_start=$starts" | tee -a /tmp/boot.log
    env ${UNIT_ENV} /unibus --config "$config" >>/tmp/unibus.log 2>&1
    code=$?
    echo "BOOT unibus_exit=$code" | tee -a /tmp/boot.log
    [ $code = 0 ] && [ ! -e /run/unibus.off ] && break
    sleep 5
  done
) &
stty -F /dev/ttyS1 raw -echo
exec 3<>/dev/ttyS1
while IFS= read -r line <&3; do
  id=\${line%% *}
  cmd=\${line#* }
  sh -c "$cmd" >/tmp/cmd.out 2>&1 </dev/null
  code=$?
  sed "s/^/OUT $id /" /tmp/cmd.out >&3
  echo "DONE $id $code" >&3
done
`;
}

/** BASE_DIRS are the folders of the archive every guest shares. */
const BASE_DIRS = ["bin", "dev", "etc", "etc/unibus", "lib", "lib64", "lib/x86_64-linux-gnu", "modules", "proc", "sys", "tmp", "var", "var/lib"];

/**
 * buildGuestBase returns the initramfs all guests share (busybox, glibc,
 * modules, /init); a node's own files are appended per boot (the kernel
 * unpacks concatenated archives). The executable is on the system disk.
 */
export async function buildGuestBase(): Promise<Uint8Array> {
  const parts = await fetchVmParts();
  const entries: Parameters<typeof cpioNewc>[0] = [
    ...BASE_DIRS.map((path) => ({ path, mode: DIR })),
    { path: "dev/console", mode: CHAR, rdev: [5, 1] },
    { path: "dev/null", mode: CHAR | 0o066, rdev: [1, 3] },
    { path: "init", mode: EXEC, data: enc.encode(guestInit()) },
    { path: "bin/busybox", mode: EXEC, data: readFileSync(parts.busybox) },
    ...GLIBC_FILES.map((f) => ({ path: f.slice(1), mode: EXEC, data: readFileSync(f) })),
    ...parts.modules.map((m, i) => ({ path: `modules/${VM_MODULES[i]}.ko`, mode: FILE, data: readFileSync(m) })),
  ];
  return cpioNewc(entries);
}

/**
 * guestFiles is a node's own archive: its config and any other files (paths
 * without a leading slash). Folders the base archive lacks (etc/unibus/certs)
 * come first: the kernel makes no missing parents when it unpacks.
 */
export function guestFiles(files: Record<string, string | Uint8Array>): Uint8Array {
  const folders = new Set<string>();
  for (const path of Object.keys(files)) {
    for (let at = path.indexOf("/"); at > 0; at = path.indexOf("/", at + 1)) folders.add(path.slice(0, at));
  }
  return cpioNewc([
    ...[...folders].filter((f) => !BASE_DIRS.includes(f)).map((path) => ({ path, mode: DIR })),
    ...Object.entries(files).map(([path, data]) => ({ path, mode: /key|secret/.test(path) ? 0o100600 : FILE, data: typeof data === "string" ? enc.encode(data) : data })),
  ]);
}

/**
 * makeSystemDisk puts the executable on a read-only ext4 image every guest
 * shares (mkfs.ext4 -d): loading 115 MiB through the initramfs took most of a
 * boot under emulation, a disk is paged in only as the program runs.
 */
export function makeSystemDisk(path: string, unibus: string, staging: string): void {
  mkdirSync(staging, { recursive: true });
  copyFileSync(unibus, join(staging, "unibus"));
  chmodSync(join(staging, "unibus"), 0o755);
  execFileSync("truncate", ["-s", `${Math.ceil(statSync(unibus).size / 2 ** 20) + 64}M`, path]);
  execFileSync("mkfs.ext4", ["-q", "-F", "-L", "unibus-system", "-d", staging, path]);
  rmSync(staging, { recursive: true, force: true });
}

/** makeDisk writes a sparse raw image of sizeMiB and formats it ext4 (mkfs.ext4 on the host, no root needed). */
export function makeDisk(path: string, sizeMiB: number): void {
  execFileSync("truncate", ["-s", `${sizeMiB}M`, path]);
  execFileSync("mkfs.ext4", ["-q", "-F", "-L", "unibus-data", path]);
}

function sh(cmd: string[], input?: string): string {
  return execFileSync(cmd[0]!, cmd.slice(1), { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}

/**
 * VmNet is a bridge in its own network namespace with a veth to the test's
 * namespace: the host end is HOST_IP, guest i gets subnet.(10 + i). Names
 * and the subnet derive from the pid so parallel tests do not collide.
 */
export class VmNet {
  readonly ns: string;
  readonly subnet: string;
  readonly hostIp: string;
  readonly #hostVeth: string;
  #forget?: () => void;

  constructor() {
    const id = process.pid % 100_000;
    this.ns = `ubpl${id}`;
    this.#hostVeth = `ubplh${id}`;
    this.subnet = `10.${200 + (Math.floor(process.pid / 250) % 50)}.${process.pid % 250}`;
    this.hostIp = `${this.subnet}.1`;
    this.dispose();
    sh(["ip", "netns", "add", this.ns]);
    const inNs = (...a: string[]) => sh(["ip", "netns", "exec", this.ns, ...a]);
    inNs("ip", "link", "set", "lo", "up");
    inNs("ip", "link", "add", "br0", "type", "bridge");
    inNs("ip", "link", "set", "br0", "up");
    sh(["ip", "link", "add", this.#hostVeth, "type", "veth", "peer", "name", "uplink", "netns", this.ns]);
    inNs("ip", "link", "set", "uplink", "master", "br0");
    inNs("ip", "link", "set", "uplink", "up");
    sh(["ip", "addr", "add", `${this.hostIp}/24`, "dev", this.#hostVeth]);
    sh(["ip", "link", "set", this.#hostVeth, "up"]);
    this.#forget = tearDownOnSignal(`the VMs' namespace ${this.ns}`, () => this.dispose());
  }

  /** guestIp is guest i's address (i from 1). */
  guestIp(i: number): string {
    return `${this.subnet}.${10 + i}`;
  }

  /** tap names guest i's tap device inside the namespace. */
  tap(i: number): string {
    return `tap${i}`;
  }

  /** partition takes guest i's tap off the bridge: it reaches nobody, nobody reaches it. */
  partition(i: number): void {
    sh(["ip", "netns", "exec", this.ns, "ip", "link", "set", this.tap(i), "nomaster"]);
  }

  /** heal puts guest i's tap back on the bridge. */
  heal(i: number): void {
    sh(["ip", "netns", "exec", this.ns, "ip", "link", "set", this.tap(i), "master", "br0"]);
  }

  /** dispose removes the namespace (its bridge and taps go with it) and the host's veth. */
  dispose(): void {
    try { sh(["ip", "link", "del", this.#hostVeth]); } catch { /* not there */ }
    try { sh(["ip", "netns", "del", this.ns]); } catch { /* not there */ }
    this.#forget?.();
  }
}

/**
 * VmSpec is one guest: its number on the net, its name, disk image and
 * archives. etcOnDisk keeps /etc/unibus on the data disk (seeded from own at
 * the first boot) instead of in the initramfs; config is the file the
 * start loop runs (default /etc/unibus/node.toml), started once it exists.
 */
export interface VmSpec { index: number; name: string; disk: string; system: string; memMiB?: number; dir: string; base: Uint8Array; own: Uint8Array; drive?: string; etcOnDisk?: boolean; config?: string }

/** Vm is one running guest: its console, a command channel, and its power switch (SIGKILL). */
export class Vm {
  readonly spec: VmSpec;
  readonly net: VmNet;
  console = "";
  proc?: Subprocess<"ignore", "pipe", "pipe">;
  boots = 0;
  #sock?: Awaited<ReturnType<typeof Bun.connect>>;
  #reply = "";
  #nextId = 1;
  #waiters: (() => void)[] = [];

  constructor(spec: VmSpec, net: VmNet) {
    this.spec = spec;
    this.net = net;
  }

  get ip(): string {
    return this.net.guestIp(this.spec.index);
  }

  /** boot starts qemu on the same disk (a power-on); resolves once the command channel answers. */
  async boot(): Promise<void> {
    const parts = await fetchVmParts();
    this.boots++;
    const initrd = join(this.spec.dir, `${this.spec.name}.cpio`);
    writeFileSync(initrd, Buffer.concat([this.spec.base, this.spec.own]));
    const sock = join(this.spec.dir, `${this.spec.name}.sock`);
    rmSync(sock, { force: true });
    const tap = this.net.tap(this.spec.index);
    try { sh(["ip", "netns", "exec", this.net.ns, "ip", "link", "del", tap]); } catch { /* none yet */ }
    sh(["ip", "netns", "exec", this.net.ns, "ip", "tuntap", "add", "dev", tap, "mode", "tap"]);
    sh(["ip", "netns", "exec", this.net.ns, "ip", "link", "set", tap, "master", "br0"]);
    sh(["ip", "netns", "exec", this.net.ns, "ip", "link", "set", tap, "up"]);
    const mac = `52:54:00:12:34:${(0x10 + this.spec.index).toString(16)}`;
    const marker = `--- boot ${this.boots} ---\n`;
    this.console += marker;
    // `ip netns exec` and setpriv exec qemu, so the pid Bun holds is qemu's own: SIGKILL is the power cut.
    this.proc = Bun.spawn([
      // setpriv: qemu dies with the test process, never left running a guest nobody owns.
      "ip", "netns", "exec", this.net.ns, "setpriv", "--pdeathsig", "SIGKILL",
      QEMU_X86, ...accelArgs(), "-smp", "1", "-m", String(this.spec.memMiB ?? 512),
      "-nographic", "-no-reboot", "-nodefaults", "-monitor", "none",
      "-serial", "stdio", "-serial", `unix:${sock},server=on,wait=off`,
      "-drive", `file=${this.spec.disk},format=raw,if=virtio,cache=writeback${this.spec.drive ?? ""}`,
      "-drive", `file=${this.spec.system},format=raw,if=virtio,readonly=on`,
      "-netdev", `tap,id=n0,ifname=${tap},script=no,downscript=no`, "-device", `virtio-net-pci,netdev=n0,mac=${mac},romfile=`,
      "-kernel", parts.kernel, "-initrd", initrd,
      "-append", `console=ttyS0 quiet panic=-1 no_timer_check rdinit=/init unibus.name=${this.spec.name} unibus.ip=${this.ip}/24${this.spec.etcOnDisk ? " unibus.etc=disk" : ""}${this.spec.config ? ` unibus.config=${this.spec.config}` : ""}`,
    ], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const proc = this.proc;
    const pump = async (s: ReadableStream<Uint8Array>) => {
      const dec = new TextDecoder();
      for await (const chunk of s) {
        this.console += dec.decode(chunk, { stream: true }).replaceAll("\r", "");
        for (const w of this.#waiters.splice(0)) w();
      }
    };
    void pump(proc.stdout);
    void pump(proc.stderr);
    this.#reply = "";
    const until = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode) throw new Error(`${this.spec.name}: qemu exited (${proc.exitCode ?? proc.signalCode}):\n${this.console}`);
      try {
        this.#sock = await Bun.connect({
          unix: sock,
          socket: {
            data: (_s, data) => {
              this.#reply += new TextDecoder().decode(data);
              for (const w of this.#waiters.splice(0)) w();
            },
          },
        });
        break;
      } catch (err) {
        if (Date.now() > until) throw new Error(`${this.spec.name}: qemu's serial socket ${sock} did not accept in 60 s: ${(err as Error).message}`);
        await Bun.sleep(100);
      }
    }
    // Bytes sent before the guest opens its second serial port are dropped: probe until one is answered.
    const ready = Date.now() + 480_000; // emulated, on a busy machine a boot took over 4 minutes
    for (;;) {
      try {
        await this.run("true", 3_000);
        break;
      } catch (err) {
        if (Date.now() > ready || /stopped/.test((err as Error).message)) throw err;
      }
    }
  }

  /** waitConsole resolves when the console since the latest boot matches, or throws with the console. */
  async waitConsole(pattern: RegExp, timeoutMs = 90_000): Promise<RegExpMatchArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const since = this.console.slice(this.console.lastIndexOf("--- boot "));
      const m = since.match(pattern);
      if (m) return m;
      if (Date.now() > until) throw new Error(`${this.spec.name}: timed out waiting for ${pattern} on the console:\n${since}`);
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), Bun.sleep(200)]);
    }
  }

  /** run executes a shell command in the guest and returns its exit code and output (needs no network). */
  async run(cmd: string, timeoutMs = 60_000): Promise<{ code: number; out: string }> {
    if (!this.#sock) throw new Error(`${this.spec.name} is not running`);
    const id = this.#nextId++;
    this.#sock.write(`${id} ${cmd}\n`);
    const done = new RegExp(`^DONE ${id} (\\d+)$`, "m");
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = done.exec(this.#reply);
      if (m) {
        const out = [...this.#reply.matchAll(new RegExp(`^OUT ${id} (.*)$`, "gm"))].map((l) => l[1]).join("\n");
        return { code: Number(m[1]), out };
      }
      if (this.proc?.exitCode !== null || this.proc?.signalCode) throw new Error(`${this.spec.name} stopped (qemu ${this.proc?.exitCode ?? this.proc?.signalCode}) while running ${cmd}; console:\n${this.console.slice(-4000)}`);
      if (Date.now() > until) throw new Error(`${this.spec.name}: \`${cmd}\` did not finish in ${timeoutMs} ms; console:\n${this.console.slice(-4000)}`);
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), Bun.sleep(200)]);
    }
  }

  /**
   * waitReady waits until this boot's unibus logged "unibus ready" and returns
   * how many times it was started; it throws at once when its log matches
   * giveUpOn (a failure that waiting will not cure).
   */
  async waitReady(timeoutMs = 240_000, giveUpOn?: RegExp): Promise<number> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.run("grep -q 'msg=\"unibus ready' /tmp/unibus.log && grep -c unibus_start= /tmp/boot.log", 30_000);
      if (r.code === 0) return Number(r.out.trim());
      const hopeless = giveUpOn && giveUpOn.exec((await this.run("cat /tmp/unibus.log")).out);
      if (hopeless) throw new Error(`${this.spec.name}: not ready: ${hopeless[0]}`);
      if (Date.now() > until) {
        const log = await this.run("tail -n 40 /tmp/unibus.log");
        throw new Error(`${this.spec.name}: unibus not ready in ${timeoutMs} ms; its log:\n${log.out}\nconsole:\n${this.console.slice(-3000)}`);
      }
      await Bun.sleep(1000);
    }
  }

  /** cut is the power cut: SIGKILL of qemu, so the guest's page cache is lost and its flushed writes stay in the image. */
  async cut(): Promise<void> {
    this.#sock?.end();
    this.#sock = undefined;
    if (this.proc && this.proc.exitCode === null && !this.proc.signalCode) {
      this.proc.kill("SIGKILL");
      await this.proc.exited;
    }
  }

  /** pause freezes the whole machine (SIGSTOP of qemu), as a stalled box or a long GC would. */
  pause(): void {
    this.proc?.kill("SIGSTOP");
  }

  /** resume thaws a paused machine (SIGCONT). */
  resume(): void {
    this.proc?.kill("SIGCONT");
  }

  /** shutdown stops unibus with SIGTERM, syncs and powers off cleanly. */
  async shutdown(): Promise<void> {
    if (!this.#sock) return;
    await this.run("killall -TERM unibus; for i in $(seq 100); do pidof unibus >/dev/null || break; sleep 0.2; done; sync", 60_000).catch(() => {});
    await this.cut();
  }
}
