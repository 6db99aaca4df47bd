/**
 * rotation-gate.ts holds a CA rotation in its first phase until the members
 * trust the new CA, the way Swarm distributes the new root before it
 * reissues: a certificate from the new CA presented to a member that trusts
 * only the old one would fail every new connection to it. Members report the
 * CAs they trust at each check-in; the CA holder starts signing with the new
 * CA (its own certificate included) once every member that checked in
 * recently trusts it, or after TRUST_PHASE_MAX_MS whatever happens. A member
 * that is down does not hold the rotation up: it learns the new CA when it
 * comes back (it is endorsed by the old one).
 */
import { readFileSync } from "node:fs";
import { dataDirLayout } from "../data-dir.ts";
import { writeFileAtomic } from "../fsutil.ts";
import type { MemberRegistry } from "./members.ts";


/** RotationPhase is what status shows of a rotation in progress: learning the new CA, or reissuing from it. */
export interface RotationPhase {
  /** sha256 (hex) of the new CA. */
  newCa: string;
  phase: "trust" | "reissue";
  /** Members that are up and do not trust the new CA yet (phase "trust"). */
  waitingFor: string[];
}

/** readRotationPhase reads the phase the running CA holder recorded; undefined when there is none. */
export function readRotationPhase(dataDir: string): RotationPhase | undefined {
  try {
    return JSON.parse(readFileSync(dataDirLayout(dataDir).rotationPhase, "utf8")) as RotationPhase;
  } catch {
    return undefined;
  }
}

/** writeRotationPhase records the phase (0600) when it changed. */
export function writeRotationPhase(dataDir: string, phase: RotationPhase): void {
  const text = JSON.stringify(phase) + "\n";
  try {
    if (readFileSync(dataDirLayout(dataDir).rotationPhase, "utf8") === text) return;
  } catch {
    // first write
  }
  writeFileAtomic(dataDirLayout(dataDir).rotationPhase, text, 0o600);
}

/** TRUST_PHASE_MAX_MS bounds the first phase: a member that is up but never learns the new CA must not stall the rotation. */
export const TRUST_PHASE_MAX_MS = 60_000;
/** LIVE_MS is how recent a check-in must be for a member to count as up (three rounds). */
const LIVE_MS = 15_000;
/** EDGE_LIVE_MS is the same for an enrolled edge, which checks in less often (lib/membership/edge-agent.ts: three rounds). */
export const EDGE_LIVE_MS = 45_000;

/** RotationGate remembers what each member trusts and says when the new CA may sign. */
export class RotationGate {
  readonly #reports = new Map<string, { at: number; trusts: Set<string> }>();
  readonly #edgeReports = new Map<string, { at: number; trusts: Set<string> }>();

  /**
   * edgeConnected, when set, says whether an enrolled edge has a leaf
   * connection on the hub now (the hub's fleet view), undefined when it does
   * not know: an edge that is not connected is down and does not hold the
   * rotation however recent its last check-in; it learns the new CA when it
   * starts (and status names it until then).
   */
  edgeConnected?: (name: string) => boolean | undefined;

  /** onReport, when given, is told after every report: the CA authority re-judges the phase at once. */
  constructor(readonly registry: MemberRegistry, readonly selfName: string, readonly onReport?: () => void) {}

  /** report records the CA fingerprints (sha256 hex) a member said it trusts at check-in. */
  report(name: string, trusts: unknown, now = Date.now()): void {
    const list = Array.isArray(trusts) ? trusts.filter((t): t is string => typeof t === "string") : [];
    this.#reports.set(name, { at: now, trusts: new Set(list) });
    this.onReport?.();
  }

  /**
   * reportEdge records the CA fingerprints an enrolled edge said it trusts at
   * its check-in: an edge that is up and does not trust the new CA yet holds
   * the rotation like a member (its uplink would fail to verify the hub's
   * reissued certificates).
   */
  reportEdge(name: string, trusts: unknown, now = Date.now()): void {
    const list = Array.isArray(trusts) ? trusts.filter((t): t is string => typeof t === "string") : [];
    const had = this.#edgeReports.get(name);
    this.#edgeReports.set(name, { at: now, trusts: new Set(list) });
    // Re-judged when what the edge trusts changed, not at every one of a fleet's check-ins.
    if (!had || had.trusts.size !== list.length || list.some((t) => !had.trusts.has(t))) this.onReport?.();
  }

  /**
   * ready says whether the new CA (nextFp) may sign now: every member that
   * checked in within LIVE_MS trusts it, or the rotation started (startedAt,
   * ms) more than TRUST_PHASE_MAX_MS ago.
   */
  ready(nextFp: string, startedAt: number, now = Date.now()): boolean {
    if (now - startedAt >= TRUST_PHASE_MAX_MS) return true;
    return this.waitingFor(nextFp, now).length === 0;
  }

  /** waitingFor lists the members and then the edges ("NAME (edge)") that are up and do not trust the new CA yet. */
  waitingFor(nextFp: string, now = Date.now()): string[] {
    const members = this.registry.active()
      .filter((m) => m.name !== this.selfName)
      .filter((m) => {
        const r = this.#reports.get(m.name);
        return r !== undefined && now - r.at < LIVE_MS && !r.trusts.has(nextFp);
      })
      .map((m) => m.name);
    const edges = [...this.#edgeReports]
      .filter(([name, r]) => now - r.at < EDGE_LIVE_MS && !r.trusts.has(nextFp) && this.edgeConnected?.(name) !== false)
      .map(([name]) => `${name} (edge)`).sort();
    return [...members, ...edges];
  }
}
