/**
 * _atomic-write.ts writes a file so readers see either the old or the new
 * content, never half of it, and a key file is never readable by others —
 * not even for the moment between create and chmod.
 */
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { RuntimeError } from "../errors.ts";

/** writeFileAtomic writes data to a temporary file created with mode, fsyncs it, renames it over path and fsyncs the folder. */
export async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const dir = dirname(path);
  const suffix = Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex");
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${suffix}.tmp`);
  try {
    // "wx": fail rather than follow a planted file or symlink; mode applies at creation.
    const handle = await open(tmp, "wx", mode);
    try {
      await handle.chmod(mode); // the umask may have narrowed it; never widens a key past mode
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw new RuntimeError(`cannot write ${path}`, { cause: err });
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself is still atomic.
  }
}
