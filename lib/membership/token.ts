/**
 * token.ts is the join token: `UB1-<sha256 of the CA certificate, hex>-<id>-<secret>`,
 * shaped after Docker Swarm's SWMTKN-1-<CA digest>-<secret> and k3s's
 * K10<CA hash>::server:<secret>. The digest lets a box that has nothing yet
 * pin the cluster CA; the id names the token for list and revoke without
 * showing its secret; the secret never crosses the wire: the joiner proves
 * it with an HMAC over the request it sends.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { UsageError } from "../errors.ts";

/** TOKEN_PREFIX marks the token format's version. */
export const TOKEN_PREFIX = "UB1";
const ID_LENGTH = 6;
const SECRET_LENGTH = 32;
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
const TOKEN_RE = new RegExp(`^${TOKEN_PREFIX}-([0-9a-f]{64})-([a-z2-7]{${ID_LENGTH}})-([a-z2-7]{${SECRET_LENGTH}})$`);

/** JoinToken is a parsed token. */
export interface JoinToken {
  /** sha256 of the CA certificate (DER), lower-case hex. */
  caDigest: string;
  id: string;
  secret: string;
}

/** caDigest is the sha256 of a certificate's DER bytes in lower-case hex (what `openssl x509 -outform der | sha256sum` prints). */
export function caDigest(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}

/** newTokenParts makes a fresh id and secret (160 random bits). */
export function newTokenParts(): { id: string; secret: string } {
  return { id: base32(randomBytes(5)).slice(0, ID_LENGTH), secret: base32(randomBytes(20)).slice(0, SECRET_LENGTH) };
}

/** formatToken writes a token as one word. */
export function formatToken(t: JoinToken): string {
  return `${TOKEN_PREFIX}-${t.caDigest}-${t.id}-${t.secret}`;
}

/** parseToken reads a token, or throws a UsageError saying what a token looks like (never echoing it). */
export function parseToken(text: string): JoinToken {
  const m = TOKEN_RE.exec(text.trim());
  if (!m) {
    throw new UsageError(`--token is not a unibus join token: expected ${TOKEN_PREFIX}-<64 hex digits>-<6 letters/digits>-<32 letters/digits>, as printed by \`unibus token create\` on a node that holds the CA key`);
  }
  return { caDigest: m[1]!, id: m[2]!, secret: m[3]! };
}

/** JoinClaim is what a join request binds its proof to. */
export interface JoinClaim {
  caDigest: string;
  tokenId: string;
  name: string;
  route: string;
  /** Milliseconds since the epoch on the joiner's clock. */
  at: number;
  /** sha256 (hex) of the CSR's DER bytes. */
  csrDigest: string;
  replace: boolean;
}

/**
 * joinProof is HMAC-SHA256(secret, claim): it proves the joiner holds the
 * secret without sending it, and ties the proof to this CSR and name, so a
 * captured request cannot be replayed with another key or name.
 */
export function joinProof(secret: string, claim: JoinClaim): string {
  const text = ["unibus-join-v1", claim.caDigest, claim.tokenId, claim.name, claim.route, String(claim.at), claim.csrDigest, claim.replace ? "replace" : "new"].join("\n");
  return createHmac("sha256", secret).update(text).digest("hex");
}

/** edgeProofRoute is what an edge's enrollment binds into the proof's route field: its public nkey, so a captured request cannot enroll another key. */
export function edgeProofRoute(nkey: string): string {
  return `edge:${nkey}`;
}

/** proofMatches compares two proofs in constant time. */
export function proofMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected, "hex");
  const b = Buffer.from(given, "hex");
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

function base32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}
