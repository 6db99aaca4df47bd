/**
 * left-marker.ts records in the data dir that this node left its cluster
 * (`unibus leave`) or learned it was removed (`unibus remove` on another
 * member): `<data_dir>/left-cluster.json`. A node with the marker refuses to
 * start as a member, whatever members.json says (that file may be stale, or
 * unreadable to the service user after a root-run leave wrote it), and its
 * status says it left instead of asking to start it. `unibus join` clears it.
 */
import { readFileSync, rmSync } from "node:fs";
import { dataDirLayout } from "../data-dir.ts";
import { ownerOf, writeFileAtomic } from "../fsutil.ts";

/** LeftMarker is what the marker holds. */
export interface LeftMarker {
  cluster: string;
  name: string;
  at: string;
  /** "left" (unibus leave here) or "removed" (unibus remove elsewhere, learned at check-in). */
  how: "left" | "removed";
}

/** readLeftMarker returns the marker of dataDir, if there is one. */
export function readLeftMarker(dataDir: string): LeftMarker | undefined {
  try {
    const m = JSON.parse(readFileSync(dataDirLayout(dataDir).leftMarker, "utf8")) as LeftMarker;
    return typeof m?.cluster === "string" && typeof m.name === "string" ? m : undefined;
  } catch {
    return undefined;
  }
}

/** writeLeftMarker writes the marker, owned like the data dir so the service user reads it. */
export function writeLeftMarker(dataDir: string, marker: LeftMarker): void {
  writeFileAtomic(dataDirLayout(dataDir).leftMarker, JSON.stringify(marker, null, 2) + "\n", 0o644, ownerOf(dataDir));
}

/** clearLeftMarker removes the marker (a new join). */
export function clearLeftMarker(dataDir: string): void {
  rmSync(dataDirLayout(dataDir).leftMarker, { force: true });
}

/** leftMessage is the one sentence every refusal and status line uses. */
export function leftMessage(m: LeftMarker): string {
  return `node "${m.name}" ${m.how === "left" ? "left" : "was removed from"} cluster "${m.cluster}" at ${m.at} (${m.how === "left" ? "unibus leave" : "unibus remove or unibus recover on another member"}) and does not start as a member again`;
}
