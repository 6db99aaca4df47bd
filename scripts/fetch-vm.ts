/**
 * fetch-vm.ts puts what the power-loss VMs boot in vendor/vm/: Debian
 * trixie's amd64 kernel, the few modules a guest needs for its virtio disk
 * (ext4) and virtio network, and busybox-static, pinned with sha256 in
 * vendor/vm.lock.json and fetched from the mirror in apt's configuration.
 * The guests run under qemu (KVM or its emulator) and are killed with SIGKILL to cut their power
 * (tests/power-loss-*.test.ts).
 *
 *   bun scripts/fetch-vm.ts                 fetch and verify (cached)
 *   bun scripts/fetch-vm.ts --update-lock   pin the suite's current versions
 *
 * UNIBUS_DEBIAN_MIRROR overrides the mirror read from apt's configuration.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { debianMirror } from "./_apt-mirror.ts";
import { debMember, debMembers, download, packagesIndex, sha256, writeAtomic } from "./_deb.ts";
import { ROOT } from "./fetch-nats.ts";
import { Progress, formatBytes } from "./_progress.ts";

/** VM_DIR caches the extracted kernel, modules and busybox (git-ignored). */
export const VM_DIR = join(ROOT, "vendor", "vm");
const LOCK = join(ROOT, "vendor", "vm.lock.json");

/**
 * VM_MODULES are the kernel modules the guest loads, in load order (a
 * module's dependencies first): the disk, ext4 and its helpers (ext4 asks the
 * crypto API for crc32c), and the network card. Debian builds the virtio PCI
 * transport in; these are modules.
 */
export const VM_MODULES = [
  "virtio_blk",
  "crc32c_generic", "crc16", "mbcache", "jbd2", "ext4",
  "failover", "net_failover", "virtio_net",
];

interface LockEntry { package: string; version: string; filename: string; size: number; debSha256: string }
interface Lock { suite: string; kernel: LockEntry & { release: string; vmlinuzSha256: string }; busybox: LockEntry & { busyboxSha256: string } }

/**
 * VmParts is the verified files a guest boots: the kernel (the uncompressed
 * ELF vmlinux taken out of Debian's bzImage, which qemu starts through its
 * PVH entry), its modules (uncompressed .ko, in VM_MODULES order) and busybox.
 */
export interface VmParts { kernel: string; release: string; modules: string[]; busybox: string }

const progress = new Progress();

function readLock(): Lock {
  return JSON.parse(readFileSync(LOCK, "utf8")) as Lock;
}

async function verifiedDeb(entry: LockEntry): Promise<string> {
  mkdirSync(VM_DIR, { recursive: true });
  const debPath = join(VM_DIR, entry.filename.split("/").pop()!);
  if (existsSync(debPath) && sha256(readFileSync(debPath)) === entry.debSha256) return debPath;
  const url = `${debianMirror()}/${entry.filename}`;
  const deb = await download(url, `fetching ${entry.package} ${entry.version}`);
  const got = sha256(deb);
  if (got !== entry.debSha256) throw new Error(`${url}: sha256 ${got} does not match ${LOCK} (${entry.debSha256}); refusing to use it`);
  writeAtomic(debPath, deb);
  return debPath;
}

/** modulePath finds a module's file in a kernel package's file list (Debian compresses them with xz). */
function modulePath(members: string[], name: string): string {
  const re = new RegExp(`/${name.replaceAll("_", "[-_]")}\\.ko(\\.xz|\\.zst)?$`);
  const found = members.find((m) => m.includes("/kernel/") && re.test(m));
  if (!found) throw new Error(`the kernel package has no module ${name}`);
  return found;
}

/**
 * vmlinuxOf takes the kernel out of a bzImage: the protected-mode part after
 * the setup sectors holds a compressed payload (x86 boot protocol 2.08+:
 * payload_offset at 0x248, payload_length at 0x24c), zstd in Debian's
 * kernels, followed by the uncompressed size (le32). Booting the ELF directly
 * skips the kernel's own decompressor, about a second of CPU per boot under
 * qemu's emulator. Throws naming what it did not find.
 */
export function vmlinuxOf(bzImage: Buffer): Buffer {
  if (bzImage.toString("latin1", 0x202, 0x206) !== "HdrS") throw new Error("not a bzImage (no HdrS boot header)");
  const setupSectors = bzImage[0x1f1] || 4;
  const start = (setupSectors + 1) * 512 + bzImage.readUInt32LE(0x248);
  const payload = bzImage.subarray(start, start + bzImage.readUInt32LE(0x24c));
  if (payload.readUInt32LE(0) !== 0xfd2fb528) throw new Error(`the bzImage's payload is not zstd (starts ${payload.subarray(0, 4).toString("hex")})`);
  const size = payload.readUInt32LE(payload.length - 4);
  const elf = Buffer.from(Bun.zstdDecompressSync(payload.subarray(0, payload.length - 4)));
  if (elf.length !== size || elf.toString("latin1", 0, 4) !== "\x7fELF") throw new Error(`the bzImage's payload did not unpack to the ${size}-byte ELF it announces`);
  if (!hasPvhEntry(elf)) throw new Error("the kernel has no PVH entry (XEN_ELFNOTE_PHYS32_ENTRY; CONFIG_PVH): qemu cannot start it as an ELF");
  return elf;
}

/** hasPvhEntry tells whether a 64-bit ELF kernel carries the Xen note qemu's -kernel needs to start it (type 18, XEN_ELFNOTE_PHYS32_ENTRY). */
function hasPvhEntry(elf: Buffer): boolean {
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  for (let i = 0; i < elf.readUInt16LE(0x38); i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) !== 4) continue; // PT_NOTE
    const end = Number(elf.readBigUInt64LE(ph + 8)) + Number(elf.readBigUInt64LE(ph + 0x20));
    for (let at = Number(elf.readBigUInt64LE(ph + 8)); at + 12 <= end;) {
      const namesz = elf.readUInt32LE(at);
      const descsz = elf.readUInt32LE(at + 4);
      const name = elf.toString("latin1", at + 12, at + 12 + namesz).replace(/\0+$/, "");
      if (name === "Xen" && elf.readUInt32LE(at + 8) === 18) return true;
      at += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
    }
  }
  return false;
}

/**
 * fetchVmParts returns the guest's verified kernel, modules and busybox,
 * downloading the kernel package (about 110 MB) only when the cache misses.
 * Errors name the file and the sha256 that did not match.
 */
export async function fetchVmParts(): Promise<VmParts> {
  const lock = readLock();
  const dir = join(VM_DIR, `${lock.kernel.release}-${lock.kernel.vmlinuzSha256.slice(0, 12)}`);
  const kernel = join(dir, "vmlinux");
  const modules = VM_MODULES.map((m) => join(dir, `${m}.ko`));
  const busybox = join(VM_DIR, `busybox-${lock.busybox.busyboxSha256.slice(0, 16)}`);
  if (!(existsSync(busybox) && sha256(readFileSync(busybox)) === lock.busybox.busyboxSha256)) {
    const debPath = await verifiedDeb(lock.busybox);
    const file = debMember(debPath, "./usr/bin/busybox");
    if (sha256(file) !== lock.busybox.busyboxSha256) throw new Error(`busybox from ${debPath} does not match ${LOCK}`);
    writeAtomic(busybox, file, 0o755);
    rmSync(debPath, { force: true });
  }
  const vmlinuz = join(dir, "vmlinuz");
  const complete = existsSync(vmlinuz) && sha256(readFileSync(vmlinuz)) === lock.kernel.vmlinuzSha256 && modules.every((m) => existsSync(m));
  if (!complete) {
    const debPath = await verifiedDeb(lock.kernel);
    const staging = `${dir}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const members = debMembers(debPath);
    const bzImage = debMember(debPath, `./boot/vmlinuz-${lock.kernel.release}`);
    if (sha256(bzImage) !== lock.kernel.vmlinuzSha256) throw new Error(`vmlinuz from ${debPath} does not match ${LOCK}`);
    writeFileSync(join(staging, "vmlinuz"), bzImage);
    writeFileSync(join(staging, "vmlinux"), vmlinuxOf(Buffer.from(bzImage)));
    for (const name of VM_MODULES) {
      const member = modulePath(members, name);
      let ko = debMember(debPath, member);
      // busybox insmod loads plain .ko files only; the package's hash already vouches for these bytes.
      if (member.endsWith(".xz")) ko = execFileSync("xz", ["-dc"], { input: ko, maxBuffer: 1 << 28 });
      if (member.endsWith(".zst")) ko = execFileSync("zstd", ["-dc"], { input: ko, maxBuffer: 1 << 28 });
      writeFileSync(join(staging, `${name}.ko`), ko);
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    rmSync(debPath, { force: true }); // the rest of a kernel package is modules the guests never load
    progress.step(`vm kernel ${lock.kernel.package} ${lock.kernel.version}: ${formatBytes(bzImage.length)} and ${VM_MODULES.length} modules -> ${dir}`);
  }
  if (!existsSync(kernel)) {
    // A cache from before the ELF was kept: unpack it from the verified bzImage.
    writeAtomic(kernel, vmlinuxOf(readFileSync(vmlinuz)));
  }
  return { kernel, release: lock.kernel.release, modules, busybox };
}

async function updateLock(suite = "trixie"): Promise<void> {
  const mirror = debianMirror();
  const lookup = await packagesIndex(mirror, suite, "amd64");
  const meta = lookup("linux-image-amd64");
  if (!meta) throw new Error(`no linux-image-amd64 in ${suite}`);
  const name = meta("Depends").split(",")[0]!.trim().split(/\s/)[0]!;
  const field = lookup(name);
  if (!field) throw new Error(`linux-image-amd64 depends on ${name}, which ${suite} does not have`);
  const bb = lookup("busybox-static");
  if (!bb) throw new Error(`no busybox-static in ${suite}`);
  mkdirSync(VM_DIR, { recursive: true });
  const fetchDeb = async (f: (n: string) => string, pkg: string): Promise<[LockEntry, string]> => {
    const filename = f("Filename");
    const deb = await download(`${mirror}/${filename}`, `fetching ${filename}`);
    if (sha256(deb) !== f("SHA256")) throw new Error(`${filename}: sha256 does not match the archive index`);
    const debPath = join(VM_DIR, filename.split("/").pop()!);
    writeAtomic(debPath, deb);
    return [{ package: pkg, version: f("Version"), filename, size: deb.length, debSha256: f("SHA256") }, debPath];
  };
  const [kernelEntry, kernelDeb] = await fetchDeb(field, name);
  const vmlinuzMember = debMembers(kernelDeb).find((m) => /^\.\/boot\/vmlinuz-/.test(m));
  if (!vmlinuzMember) throw new Error(`${kernelEntry.filename} has no ./boot/vmlinuz-*`);
  const release = vmlinuzMember.replace("./boot/vmlinuz-", "");
  const [bbEntry, bbDeb] = await fetchDeb(bb, "busybox-static");
  const lock: Lock = {
    suite,
    kernel: { ...kernelEntry, release, vmlinuzSha256: sha256(debMember(kernelDeb, vmlinuzMember)) },
    busybox: { ...bbEntry, busyboxSha256: sha256(debMember(bbDeb, "./usr/bin/busybox")) },
  };
  writeFileSync(LOCK, JSON.stringify(lock, null, 2) + "\n");
  progress.step(`pinned ${name} ${kernelEntry.version} and busybox-static ${bbEntry.version} in ${LOCK}`);
}

if (import.meta.main) {
  try {
    if (process.argv.includes("--update-lock")) await updateLock();
    await fetchVmParts();
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  }
}
