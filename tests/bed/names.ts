/**
 * names.ts makes the names the bed gives to things every process on the
 * machine shares: bridges, and the nspawn machines whose host-side link is
 * "vb-" + machine. Several test runs (other checkouts, other agents) boot
 * beds at once, so a name must be unique across processes, fit the kernel's
 * 15 characters with "vb-" in front, and say which process owns it, so a
 * killed run's leftovers can be told from a live run's.
 *
 * A name is PREFIX + the owner's pid (5 base-36 digits, fixed width: pids go
 * up to 4194304 = "2ihwg") + a per-process counter (2 base-36 digits). Fixed
 * widths make the owner readable back: the former "ubed<pid>x<random>" was
 * ambiguous whenever the random part began with "x" (a base-36 digit), so a
 * run cleaning up "stale" bridges could read a live bridge's owner as some
 * dead pid and delete it under another run's boxes.
 */

/** PID_DIGITS is the width of the owner's pid in a name. */
const PID_DIGITS = 5;
/** SEQ_DIGITS is the width of the counter: 1296 names per process before it wraps. */
const SEQ_DIGITS = 2;
/** IFNAMSIZ_MAX is the longest network interface name Linux accepts. */
const IFNAMSIZ_MAX = 15;
/** HOST_LINK_PREFIX is what systemd-nspawn puts before the machine name for the host side of --network-bridge. */
export const HOST_LINK_PREFIX = "vb-";

let sequence = 0;

/** uniqueLinkName returns a name no other live process and no earlier call of this process uses. */
export function uniqueLinkName(prefix: string): string {
  const pid = process.pid.toString(36).padStart(PID_DIGITS, "0");
  const seq = (sequence++ % 36 ** SEQ_DIGITS).toString(36).padStart(SEQ_DIGITS, "0");
  const name = `${prefix}${pid}${seq}`;
  if (HOST_LINK_PREFIX.length + name.length > IFNAMSIZ_MAX) throw new Error(`bed name ${name} is too long for an interface name with "${HOST_LINK_PREFIX}"`);
  return name;
}

/** ownerOf reads the owning pid back from a name made with `prefix`, or undefined for a name not made by uniqueLinkName. */
export function ownerOf(prefix: string, name: string): number | undefined {
  const m = new RegExp(`^${prefix}([0-9a-z]{${PID_DIGITS}})[0-9a-z]{${SEQ_DIGITS}}$`).exec(name);
  return m ? Number.parseInt(m[1]!, 36) : undefined;
}
