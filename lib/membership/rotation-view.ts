/**
 * rotation-view.ts is what `unibus status` says about the cluster's CAs: the
 * fingerprints this node trusts and, on the CA holder during a CA rotation,
 * which members still hold a certificate from the old CA (so the operator
 * knows when `unibus ca rotate --finish` is safe). It reads files only.
 */
import { readFileSync } from "node:fs";
import type { UnibusConfig } from "../config/load.ts";
import { dataDirLayout } from "../data-dir.ts";
import { readClusterCa } from "../pki/index.ts";
import { certFingerprint, colonFingerprint, parseCertificates, trustBundlePath } from "../pki/index.ts";
import { membersOf } from "./status-view.ts";
import { readRotationPhase } from "./rotation-gate.ts";
import { readEdges, type EdgeRecord } from "./edges.ts";

/** CaView is the CA part of a node's status. */
export interface CaView {
  /** SHA-256 fingerprints (AB:CD:…) of every CA this node trusts, the signing one last during a rotation. */
  trusted: string[];
  /** The file nats-server verifies peers with. */
  file: string;
  /** Set on the CA holder while a rotation is in progress. */
  rotation?: {
    newCa: string;
    oldCa: string;
    /** Members whose certificate is not from the new CA yet (name and what their CA is). */
    pending: { name: string; ca: string }[];
    done: number;
    members: number;
    /** "trust": members are learning the new CA (the old one still signs); "reissue": the new CA signs. */
    phase?: "trust" | "reissue";
    /** Members that are up and do not trust the new CA yet. */
    waitingForTrust?: string[];
    /** Enrolled edges whose certificate is not from the new CA yet: down, or not checked in since (name and what their CA is). */
    pendingEdges?: { name: string; ca: string }[];
  };
}

/** caView reads the trust bundle in use and, on a CA holder, the rotation's progress; undefined without [tls]. */
export async function caView(config: UnibusConfig): Promise<CaView | undefined> {
  const tls = config.tls;
  if (!tls) return undefined;
  const bundle = dataDirLayout(config.node.dataDir).trustBundle;
  let file = tls.caCert;
  let trusted: string[] = [];
  for (const f of [bundle, tls.caCert]) {
    try {
      trusted = parseCertificates(readFileSync(f, "utf8")).map((c) => colonFingerprint(certFingerprint(c)));
      file = f;
      break;
    } catch {
      // not there: the next
    }
  }
  const out: CaView = { trusted, file };
  if (!tls.caKey || !config.cluster) return out;
  try {
    const ca = await readClusterCa(tls.caCert, tls.caKey);
    if (!ca.next) return out;
    const next = certFingerprint(ca.next);
    const old = certFingerprint(ca.current);
    const members = membersOf(config).filter((m) => !m.removed);
    const pending = members.filter((m) => m.caFingerprint !== next).map((m) => ({ name: m.name, ca: m.caFingerprint === old ? "old CA" : m.caFingerprint ? "another CA" : "not reported yet" }));
    const phase = readRotationPhase(config.node.dataDir);
    const pendingEdges = pendingEdgesOf(readEdges(dataDirLayout(config.node.dataDir).edges), next, old);
    out.rotation = {
      newCa: colonFingerprint(next), oldCa: colonFingerprint(old), pending, done: members.length - pending.length, members: members.length,
      ...(phase?.newCa === next ? { phase: phase.phase, waitingForTrust: phase.waitingFor } : {}),
      ...(config.leafnodes?.enroll ? { pendingEdges } : {}),
    };
  } catch {
    // unreadable CA files: the certificate line says so
  }
  return out;
}

/** pendingEdgesOf lists the enrolled edges whose certificate is not from the new CA (newFp, sha256 hex) yet. */
export function pendingEdgesOf(edges: EdgeRecord[], newFp: string, oldFp: string): { name: string; ca: string }[] {
  return edges.filter((e) => !e.removed && e.caFingerprint !== newFp).map((e) => ({ name: e.name, ca: e.caFingerprint === oldFp ? "old CA" : e.caFingerprint ? "another CA" : "not reported yet" }));
}

/** caLines renders a CaView for the terminal. */
export function caLines(v: CaView): string[] {
  const lines = [`  CA            ${v.trusted.map((f) => `SHA-256 ${f}`).join(" + ") || "none readable"} (${v.file}); ${v.trusted.length > 1 ? "both trusted during the CA rotation" : "must be the same on every node"}`];
  const r = v.rotation;
  if (r) {
    lines.push(`  CA rotation   in progress: new CA SHA-256 ${r.newCa.slice(0, 23)}…, ${r.done} of ${r.members} members hold a certificate from it`);
    if (r.phase === "trust") lines.push(`    phase 1      members are learning the new CA (the old one still signs)${r.waitingForTrust?.length ? `; waiting for ${r.waitingForTrust.join(", ")}` : ""}`);
    else if (r.phase === "reissue") lines.push(`    phase 2      every member that is up trusts the new CA: it signs, and members renew at their next check-in`);
    if (r.pending.length) lines.push(`    waiting for  ${r.pending.map((p) => `${p.name} (${p.ca})`).join(", ")}; a stopped member is reissued when it starts`);
    else if (!r.pendingEdges?.length) lines.push(`    every member holds a new-CA certificate: drop the old CA with sudo unibus ca rotate --finish`);
    if (r.pendingEdges?.length) lines.push(`    edges waiting ${r.pendingEdges.map((p) => `${p.name} (${p.ca})`).join(", ")}; an edge takes the new CA at its next check-in (every 15 s), a stopped one when it starts; --finish waits for them`);
  }
  return lines;
}
