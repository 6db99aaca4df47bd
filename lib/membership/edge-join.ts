/**
 * edge-join.ts is the enrolling side of an edge: like a member's join (pin
 * the CA by the token's digest, prove the token's secret with an HMAC, send a
 * certificate request), but the edge also makes its own user nkey, binds its
 * public half into the proof, and gets back every hub node's leaf address
 * instead of a route secret. Its private key and nkey seed never leave the
 * box; nothing is written before every check passed.
 */
import { createHash } from "node:crypto";
import { createUser } from "@nats-io/nkeys";
import type { HostPort } from "../config/units.ts";
import { RuntimeError } from "../errors.ts";
import { createCertificateRequest, isIssuedBy } from "../pki/index.ts";
import { parseCertificate, type X509Certificate } from "../pki/index.ts";
import { JoinRefused } from "./join.ts";
import { caDigest, edgeProofRoute, joinProof, type JoinToken } from "./token.ts";
import { wireRequest } from "./wire.ts";

/** EdgeEnrollment is everything an enrolled edge writes: its hub cluster, CA, certificate and key, nkey seed and the hub nodes' leaf addresses. */
export interface EdgeEnrollment {
  cluster: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  /** The edge's user nkey seed ("SU…"): its leaf credential. */
  seed: string;
  nkey: string;
  /** "nats-leaf://host:port" of every hub node. */
  leafUrls: string[];
  /** The one of leafUrls the hub gave as this edge's home (its fleet stays even); none from an older hub. */
  home?: string;
  /** The one of leafUrls the hub gave as this edge's second choice (dialed when home is lost); none from an older hub. */
  fallback?: string;
  /** The CA holders' join addresses ("host:port") the edge checks in with (lib/membership/edge-agent.ts). */
  services: string[];
}

/** enrollEdge runs the enrollment exchange with a CA holder of the hub cluster, or throws saying which check failed. */
export async function enrollEdge(req: { address: HostPort; token: JoinToken; name: string; replace: boolean }, progress: (line: string) => void = () => {}): Promise<EdgeEnrollment> {
  progress(`asking ${req.address.text} for the hub cluster's CA`);
  let hello;
  try {
    hello = await wireRequest(req.address, { op: "hello" });
  } catch (err) {
    throw new RuntimeError(`cannot reach the join port ${req.address.text}: ${(err as Error).message}. Is the address right, is unibus running there with the CA key, and is its join port (the route port + 1 by default) open?`);
  }
  const caPem = hello.body.ca;
  if (hello.body.ok !== true || typeof caPem !== "string") throw new RuntimeError(`${req.address.text} did not hand out a CA certificate: is it a unibus join port?`);
  const ca = parseCertificate(caPem);
  const digest = caDigest(new Uint8Array(ca.rawData));
  if (digest !== req.token.caDigest) {
    throw new JoinRefused(`the CA at ${req.address.text} (sha256 ${digest.slice(0, 16)}…) is not the one in the token (sha256 ${req.token.caDigest.slice(0, 16)}…): wrong address, a token for another cluster, a token older than a CA rotation, or someone in the way. Nothing was written`);
  }
  if (hello.serverCertDer && !(await isIssuedBy(parseCertificate(new Uint8Array(hello.serverCertDer)), ca))) {
    throw new JoinRefused(`${req.address.text} presents a certificate the cluster CA did not sign; refusing to send anything to it. Nothing was written`);
  }
  const user = createUser();
  const nkey = user.getPublicKey();
  const seed = new TextDecoder().decode(user.getSeed());
  const csr = await createCertificateRequest(req.name);
  const at = Date.now();
  const proof = joinProof(req.token.secret, {
    caDigest: req.token.caDigest, tokenId: req.token.id, name: req.name, route: edgeProofRoute(nkey), at,
    csrDigest: createHash("sha256").update(csr.csrDer).digest("hex"), replace: req.replace,
  });
  progress(`CA verified (sha256 ${digest.slice(0, 16)}…); asking to enroll edge "${req.name}"`);
  const reply = (await wireRequest(req.address, { op: "edge-join", tokenId: req.token.id, name: req.name, nkey, at, csr: csr.csrPem, proof, replace: req.replace }, { ca: caPem, timeoutMs: 20_000 })).body;
  if (reply.ok !== true) throw new JoinRefused(`${req.address.text} refused the enrollment: ${String(reply.error ?? "no reason given")}. Nothing was written`);
  const { cert, cluster, leafUrls } = reply as Record<string, unknown>;
  if (typeof cert !== "string" || typeof cluster !== "string" || !Array.isArray(leafUrls) || leafUrls.length === 0 || !leafUrls.every((u) => typeof u === "string")) {
    throw new RuntimeError(`${req.address.text} answered the enrollment without a certificate, cluster name or hub addresses (a unibus bug)`);
  }
  const issued = parseCertificate(cert);
  if (!(await isIssuedBy(issued, ca))) throw new RuntimeError(`the certificate from ${req.address.text} is not signed by the cluster CA; nothing was written`);
  const named = Array.isArray(reply.services) ? reply.services.filter((s): s is string => typeof s === "string") : [];
  const home = typeof reply.home === "string" && (leafUrls as string[]).includes(reply.home) ? reply.home : undefined;
  const fallback = home && typeof reply.fallback === "string" && reply.fallback !== home && (leafUrls as string[]).includes(reply.fallback) ? reply.fallback : undefined;
  return { cluster, caPem, certPem: cert, keyPem: csr.keyPem, seed, nkey, leafUrls: leafUrls as string[], ...(home ? { home } : {}), ...(fallback ? { fallback } : {}), services: named.length ? named : [req.address.text] };
}
