/**
 * board-fixtures.ts boots an emulated Raspberry Pi with full-system qemu
 * (`-machine virt`): Debian trixie's arm64 kernel with the board's page size,
 * and an initramfs holding busybox-static, the aarch64 glibc from
 * libc6-arm64-cross, the unibus arm64 executable and a bundled NATS client.
 * The guest's /init starts a node, runs the client, `unibus status`, waits
 * idle, reads RSS and CPU from /proc, sends SIGTERM and powers off; it prints
 * `RESULT key=value` lines on the serial console, which bootBoard returns.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { execFileSync } from "node:child_process";
import { fetchBoardPart, fetchUserlandDeb, type BoardPart, type UserlandDeb } from "../scripts/fetch-boards.ts";
import { LEAN_JSC_ENV } from "../lib/runtime-memory.ts";

/** UNIT_ENV is the environment the systemd unit gives unibus, so the boards run it as installed. */
export const UNIT_ENV = Object.entries(LEAN_JSC_ENV).map(([k, v]) => `${k}=${v}`).join(" ");

/** Board is one emulated Raspberry Pi model. */
export interface Board { name: string; cpu: string; memMiB: number; kernel: BoardPart; pageKiB: number }

/** PI4_32BIT_OS is a Pi 4 running the 32-bit Raspberry Pi OS: a 64-bit (4 KiB) kernel under an armhf userland. */
export const PI4_32BIT_OS: Board = { name: "Pi 4 with a 32-bit OS", cpu: "cortex-a72", memMiB: 1024, kernel: "kernel-4k", pageKiB: 4 };

/** BOARDS are the Pis unibus is tested on: a Pi 5's Cortex-A76 with 16 KiB pages, a 1 GiB Pi 3's Cortex-A53 with 4 KiB. */
export const BOARDS: Board[] = [
  { name: "Pi 5", cpu: "cortex-a76", memMiB: 2048, kernel: "kernel-16k", pageKiB: 16 },
  { name: "Pi 3", cpu: "cortex-a53", memMiB: 1024, kernel: "kernel-4k", pageKiB: 4 },
];

/** QEMU_SYSTEM is Debian's qemu-system-arm full-system emulator. */
export const QEMU_SYSTEM = "/usr/bin/qemu-system-aarch64";
/** CROSS_GLIBC is where libc6-arm64-cross installs the aarch64 glibc. */
export const CROSS_GLIBC = "/usr/aarch64-linux-gnu/lib";

const GUEST_CONFIG = `[node]
name = "pi"
data_dir = "/var/lib/unibus"
[client]
listen = "127.0.0.1:4222"
[monitor]
listen = "127.0.0.1:8222"
[admin]
listen = "127.0.0.1:8480"
[jetstream]
enabled = true
max_memory = "64MiB"
max_file = "64MiB"
[log]
format = "text"
`;

/** initScript is the guest's /init (busybox sh). idleSeconds is how long the node sits idle before RSS is read. */
export function initScript(idleSeconds: number, unibusEnv = UNIT_ENV): string {
  return `#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
export PATH=/bin HOME=/root
mount -t proc proc /proc; mount -t sysfs sys /sys
mkdir -p /tmp /root /var/lib
ip link set lo up
finish() { echo "RESULT done=$1"; sync; poweroff -f; }
up() { cut -d' ' -f1 /proc/uptime; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
ticks() { awk '{ print $14 + $15 }' /proc/$1/stat; }
rss() { awk '/^VmRSS:/ { print $2 }' /proc/$1/status; }
echo "RESULT kernel=$(uname -r) page_kib=$(awk '/KernelPageSize/ { print $2; exit }' /proc/self/smaps) mem_kib=$(awk '/MemTotal/ { print $2 }' /proc/meminfo) cpus=$(grep -c ^processor /proc/cpuinfo)"
t0=$(up)
${unibusEnv ? `env ${unibusEnv} ` : ""}/unibus --config /etc/unibus/node.toml >/tmp/unibus.log 2>&1 &
pid=$!
until wget -q -O /dev/null http://127.0.0.1:8480/readyz 2>/dev/null; do
  if ! kill -0 $pid 2>/dev/null; then wait $pid; echo "RESULT start_exit=$?"; sed 's/^/LOG /' /tmp/unibus.log; finish fail; fi
  sleep 0.1
done
echo "RESULT ready_ms=$(ms $t0 $(up))"
BUN_BE_BUN=1 /unibus /client.js nats://127.0.0.1:4222
echo "RESULT client_exit=$?"
/unibus status --config /etc/unibus/node.toml >/tmp/status.txt 2>&1
echo "RESULT status_exit=$?"
sed 's/^/STATUS /' /tmp/status.txt
nats=$(for c in /proc/[0-9]*/comm; do case "$(cat $c 2>/dev/null)" in nats-server*) d=\${c%/comm}; echo \${d#/proc/};; esac; done | head -n1)
echo "RESULT nats_pid=$nats"
sleep 5
u0=$(ticks $pid); n0=$(ticks $nats); t1=$(up)
sleep ${idleSeconds}
u1=$(ticks $pid); n1=$(ticks $nats); t2=$(up)
echo "RESULT rss_unibus_kib=$(rss $pid) rss_nats_kib=$(rss $nats) rss_anon_unibus_kib=$(awk '/^RssAnon:/ { print $2 }' /proc/$pid/status)"
echo "RESULT idle_cpu_unibus_pct=$(awk -v t=$((u1 - u0)) -v a=$t1 -v b=$t2 'BEGIN { printf "%.2f", t / (b - a) }') idle_cpu_nats_pct=$(awk -v t=$((n1 - n0)) -v a=$t1 -v b=$t2 'BEGIN { printf "%.2f", t / (b - a) }')"
ts=$(up)
kill -TERM $pid
wait $pid
code=$?
echo "RESULT exit=$code stop_ms=$(ms $ts $(up)) nats_left=$(kill -0 $nats 2>/dev/null && echo yes || echo no)"
# The log holds the admin token printed on first start: show it only when something failed.
[ $code = 0 ] || sed 's/^/LOG /' /tmp/unibus.log
finish ok
`;
}

/** cpioNewc writes an uncompressed initramfs (cpio "newc") without root: device nodes are just header fields. */
export function cpioNewc(entries: { path: string; mode: number; data?: Uint8Array; rdev?: [number, number] }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  const pad = (n: number) => new Uint8Array((4 - (n % 4)) % 4);
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  let ino = 1;
  const add = (path: string, mode: number, data: Uint8Array, rdev: [number, number]) => {
    const name = enc.encode(`${path}\0`);
    const header = "070701" + [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], name.length, 0].map(hex).join("");
    parts.push(enc.encode(header), name, pad(110 + name.length), data, pad(data.length));
  };
  for (const e of entries) add(e.path, e.mode, e.data ?? new Uint8Array(), e.rdev ?? [0, 0]);
  add("TRAILER!!!", 0, new Uint8Array(), [0, 0]);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

const DIR = 0o040755;
const SYMLINK = 0o120777;
const FILE = 0o100644;
const EXEC = 0o100755;
const CHAR = 0o020600;

/** buildInitramfs writes the guest's initramfs into dir and returns its path. */
export async function buildInitramfs(dir: string, unibus: string, idleSeconds: number, unibusEnv = UNIT_ENV): Promise<string> {
  const busybox = await fetchBoardPart("busybox");
  const client = await Bun.build({ entrypoints: [join(import.meta.dir, "board-client.ts")], target: "bun", minify: true });
  if (!client.success) throw new Error(`bundling board-client.ts failed: ${client.logs.join("\n")}`);
  const entries: Parameters<typeof cpioNewc>[0] = [
    ...["bin", "dev", "etc", "etc/unibus", "lib", "proc", "sys", "tmp", "var"].map((path) => ({ path, mode: DIR })),
    { path: "dev/console", mode: CHAR, rdev: [5, 1] },
    { path: "dev/null", mode: CHAR | 0o066, rdev: [1, 3] },
    { path: "init", mode: EXEC, data: new TextEncoder().encode(initScript(idleSeconds, unibusEnv)) },
    { path: "bin/busybox", mode: EXEC, data: readFileSync(busybox.path) },
    { path: "unibus", mode: EXEC, data: readFileSync(unibus) },
    { path: "client.js", mode: FILE, data: new Uint8Array(await client.outputs[0]!.arrayBuffer()) },
    { path: "etc/unibus/node.toml", mode: FILE, data: new TextEncoder().encode(GUEST_CONFIG) },
    ...readdirSync(CROSS_GLIBC).filter((n) => n.includes(".so")).map((n) => ({ path: `lib/${n}`, mode: EXEC, data: readFileSync(join(CROSS_GLIBC, n)) })),
  ];
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "initramfs.cpio");
  writeFileSync(path, cpioNewc(entries));
  return path;
}

/** treeEntries lists a folder's files, folders and symlinks as initramfs entries under the same paths. */
function treeEntries(root: string): Parameters<typeof cpioNewc>[0] {
  const out: Parameters<typeof cpioNewc>[0] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const path = relative(root, full);
      const st = lstatSync(full);
      if (st.isSymbolicLink()) out.push({ path, mode: SYMLINK, data: new TextEncoder().encode(readlinkSync(full)) });
      else if (st.isDirectory()) { out.push({ path, mode: DIR }); walk(full); }
      else out.push({ path, mode: 0o100000 | (st.mode & 0o7777), data: readFileSync(full) });
    }
  };
  walk(root);
  return out;
}

/**
 * buildArmhfInitramfs makes the userland of the 32-bit Raspberry Pi OS on a
 * 64-bit kernel: armhf bash, glibc and busybox from Debian (no 64-bit loader),
 * with install.sh and the arm64 executable. Its /init runs both and powers off.
 */
export async function buildArmhfInitramfs(dir: string, unibus: string, installSh: string): Promise<string> {
  const staging = join(dir, "armhf-root");
  mkdirSync(staging, { recursive: true });
  for (const part of ["armhf-busybox", "armhf-bash", "armhf-libc6", "armhf-libtinfo6"] as UserlandDeb[]) {
    execFileSync("dpkg-deb", ["-x", await fetchUserlandDeb(part), staging]);
  }
  const init = `#!/usr/bin/busybox sh
/usr/bin/busybox mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
/usr/bin/busybox mkdir -p /usr/local/bin /tmp /proc /etc/unibus
/usr/bin/busybox --install -s /usr/local/bin
export PATH=/usr/local/bin:/usr/bin
mount -t proc proc /proc
echo "RESULT uname_m=$(uname -m) armhf_loader=$([ -e /lib/ld-linux-armhf.so.3 ] && echo yes) arm64_loader=$([ -e /lib/ld-linux-aarch64.so.1 ] && echo yes || echo no)"
bash -c '/unibus --version' >/tmp/exec.txt 2>&1
echo "RESULT exec_exit=$?"
sed 's/^/EXEC /' /tmp/exec.txt
bash /install.sh --config /etc/unibus/node.toml --binary /unibus --no-start >/tmp/install.txt 2>&1
echo "RESULT install_exit=$?"
sed 's/^/INSTALL /' /tmp/install.txt
echo "RESULT written=$(ls -d /var/lib/unibus /usr/local/bin/unibus /etc/systemd/system/unibus.service 2>/dev/null | wc -l)"
echo "RESULT done=ok"
poweroff -f
`;
  const entries: Parameters<typeof cpioNewc>[0] = [
    { path: "bin", mode: SYMLINK, data: new TextEncoder().encode("usr/bin") },
    { path: "sbin", mode: SYMLINK, data: new TextEncoder().encode("usr/sbin") },
    { path: "lib", mode: SYMLINK, data: new TextEncoder().encode("usr/lib") },
    ...treeEntries(staging).filter((e) => !["bin", "sbin", "lib"].includes(e.path)),
    ...["dev", "etc", "etc/unibus", "proc", "tmp"].map((path) => ({ path, mode: DIR })),
    { path: "dev/console", mode: CHAR, rdev: [5, 1] },
    { path: "init", mode: EXEC, data: new TextEncoder().encode(init) },
    { path: "install.sh", mode: EXEC, data: readFileSync(installSh) },
    { path: "unibus", mode: EXEC, data: readFileSync(unibus) },
    { path: "etc/unibus/node.toml", mode: FILE, data: new TextEncoder().encode(GUEST_CONFIG) },
  ];
  const path = join(dir, "initramfs-armhf.cpio");
  writeFileSync(path, cpioNewc(entries));
  return path;
}

/** BoardRun is what one boot printed: the RESULT fields, the whole console, and how long it took. */
export interface BoardRun { results: Record<string, string>; console: string; seconds: number; qemuExit: number | null }

/** bootBoard boots one board on the initramfs, echoing the console to onLine, and returns its results. */
export async function bootBoard(board: Board, initramfs: string, onLine: (line: string) => void = () => {}, timeoutMs = 600_000): Promise<BoardRun> {
  const kernel = await fetchBoardPart(board.kernel);
  const started = performance.now();
  const proc = Bun.spawn([
    QEMU_SYSTEM, "-machine", "virt", "-cpu", board.cpu, "-smp", "2", "-m", String(board.memMiB),
    "-nographic", "-no-reboot", "-nic", "none", "-monitor", "none", "-serial", "stdio",
    "-kernel", kernel.path, "-initrd", initramfs, "-append", "console=ttyAMA0 quiet panic=-1 rdinit=/init",
  ], { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
  let text = "";
  let pending = "";
  const dec = new TextDecoder();
  const stderr = new Response(proc.stderr).text();
  for await (const chunk of proc.stdout) {
    const s = dec.decode(chunk, { stream: true }).replaceAll("\r", "");
    text += s;
    pending += s;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) onLine(line);
  }
  const qemuExit = await proc.exited;
  text += await stderr;
  const results: Record<string, string> = {};
  for (const m of text.matchAll(/^RESULT (.*)$/gm)) {
    for (const kv of m[1]!.trim().split(/\s+/)) {
      const eq = kv.indexOf("=");
      if (eq > 0) results[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
  }
  return { results, console: text, seconds: (performance.now() - started) / 1000, qemuExit };
}
