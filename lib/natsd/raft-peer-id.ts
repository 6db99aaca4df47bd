/**
 * raft-peer-id.ts computes the id nats-server's JetStream RAFT layer gives a
 * server: the first 8 characters of the SHA-256 of its server name, mapped
 * onto base-62 digits (server/events.go getHash, sysHashLen = 8). A server
 * that restarted while a peer was down knows that peer only by this id (its
 * /jsz says "Server name unknown at this time (peerID: …)"), so unibus
 * matches meta-group entries by it and sends it with `$JS.API.SERVER.REMOVE`.
 */
import { createHash } from "node:crypto";

const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** raftPeerId is nats-server's getHash(name): the RAFT peer id of the server called name. */
export function raftPeerId(name: string): string {
  const sum = createHash("sha256").update(name).digest();
  let out = "";
  for (let i = 0; i < 8; i++) out += DIGITS[sum[i]! % DIGITS.length];
  return out;
}

const UNKNOWN = /^Server name unknown at this time \(peerID: ([0-9A-Za-z]+)\)$/;

/** unknownPeerId returns the peer id inside nats-server's placeholder for a server whose name it has not learned. */
export function unknownPeerId(reportedName: string): string | undefined {
  return UNKNOWN.exec(reportedName)?.[1];
}

/** namesPeer tells whether a /jsz meta-group entry (name and optional peer id) is the server called name. */
export function namesPeer(entry: { name: string; peer?: string }, name: string): boolean {
  if (entry.name === name) return true;
  const id = raftPeerId(name);
  return entry.peer === id || unknownPeerId(entry.name) === id;
}
