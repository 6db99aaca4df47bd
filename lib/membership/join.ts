/**
 * join.ts is the joining side: a box that has nothing but a join token asks
 * a CA holder for the CA certificate, checks it against the digest in the
 * token (so a stranger on the path cannot pose as the cluster), then, over
 * TLS verified against that CA, proves the token's secret with an HMAC and
 * sends a certificate request. Its private key never leaves the box. The
 * answer carries its certificate, the cluster name, the route secret and the
 * members; nothing is written before every check passed.
 */
import { createHash } from "node:crypto";
import { joinHostPort, type HostPort } from "../config/units.ts";
import { RuntimeError } from "../errors.ts";
import { createCertificateRequest, expectedSans, isIssuedBy, parseSan } from "../pki/index.ts";
import { parseCertificate, type X509Certificate } from "../pki/index.ts";
import { isMemberRecord, type MemberRecord } from "./members.ts";
import { caDigest, joinProof, type JoinToken } from "./token.ts";
import { wireRequest } from "./wire.ts";
import { isClientPolicy, type ClientPolicy } from "./client-policy.ts";
import { entryProblem, type AccessEntry } from "../access/ledger.ts";

/** JoinRequest is what the joiner decided before asking. */
export interface JoinRequest {
  address: HostPort;
  token: JoinToken;
  name: string;
  replace: boolean;
  /** The route listen address on this box (its port is what the others dial). */
  listen: HostPort;
  /** The host the others reach this box at; default: this box's address on the way to the CA holder. */
  advertiseHost?: string;
  /** The random id of the data dir this box will use. */
  id: string;
  /** Extra SANs. */
  sans: string[];
}

/** JoinResult is everything the joiner needs to write its files. */
export interface JoinResult {
  cluster: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  secret: string;
  members: MemberRecord[];
  /** This box's route address as the others will dial it. */
  route: string;
  advertiseHost: string;
  sans: string[];
  /** The cluster's client policy (port, on the network or not, TLS), when the CA holder sent one. */
  client?: ClientPolicy;
  /** The cluster's users as the CA holder knew them (malformed entries dropped): the box starts with them. */
  access: AccessEntry[];
  /** Set when the name was removed less than 5 minutes ago: when nats-server's meta group takes it back. */
  jetstreamAt?: string;
}

/** JOIN_BUSY_MAX_MS is how long a join keeps asking while the CA holder says the box before it is still being taken in (past the CA holder's own 2 min bound). */
export const JOIN_BUSY_MAX_MS = 150_000;
/** JOIN_ASK_TIMEOUT_MS is how long a join waits for the CA holder's answer: longer than the CA holder holds it (JOIN_HOLD_MS, 8 s). */
export const JOIN_ASK_TIMEOUT_MS = 20_000;
/** JOIN_BUSY_RETRY_MS is the pause between such asks (the CA holder itself holds each ask up to JOIN_HOLD_MS, 8 s). */
const JOIN_BUSY_RETRY_MS = 1_000;

/** JoinRefused is the CA holder's "no": its reason is shown to the user as is. */
export class JoinRefused extends RuntimeError {
  override name = "JoinRefused";
}

/** joinCluster runs the join exchange and returns the result, or throws saying which check failed. */
export async function joinCluster(req: JoinRequest, progress: (line: string) => void = () => {}): Promise<JoinResult> {
  progress(`asking ${req.address.text} for the cluster CA`);
  let hello;
  try {
    hello = await wireRequest(req.address, { op: "hello" });
  } catch (err) {
    throw new RuntimeError(`cannot reach the join port ${req.address.text}: ${(err as Error).message}. Is the address right, is unibus running there with the CA key, and is its join port (the route port + 1 by default) open?`);
  }
  const caPem = hello.body.ca;
  if (hello.body.ok !== true || typeof caPem !== "string") throw new RuntimeError(`${req.address.text} did not hand out a CA certificate: is it a unibus join port?`);
  let ca: X509Certificate;
  try {
    ca = parseCertificate(caPem);
  } catch {
    throw new RuntimeError(`${req.address.text} sent a CA certificate that does not parse`);
  }
  const digest = caDigest(new Uint8Array(ca.rawData));
  if (digest !== req.token.caDigest) {
    const rotated = Array.isArray(hello.body.endorsements) && hello.body.endorsements.length > 0;
    throw new JoinRefused(`the CA at ${req.address.text} (sha256 ${digest.slice(0, 16)}…) is not the one in the token (sha256 ${req.token.caDigest.slice(0, 16)}…): ${rotated ? "this cluster rotated its CA (unibus ca rotate), and tokens made before that no longer admit anyone: make a new one on a CA holder (unibus token create); or it is " : ""}wrong address, a token for another cluster, or someone in the way. Nothing was written`);
  }
  if (hello.serverCertDer && !(await isIssuedBy(parseCertificate(new Uint8Array(hello.serverCertDer)), ca))) {
    throw new JoinRefused(`${req.address.text} presents a certificate the cluster CA did not sign; refusing to send anything to it. Nothing was written`);
  }
  const advertiseHost = (req.advertiseHost ?? hello.localAddress ?? "").replace(/^::ffff:/, "");
  if (!advertiseHost) throw new RuntimeError("cannot tell this box's address on the way to the CA holder; pass --advertise HOST");
  const route = joinHostPort(advertiseHost, req.listen.port);
  const sans = expectedSans(req.name, [advertiseHost, ...req.sans]);
  sans.forEach(parseSan);
  const csr = await createCertificateRequest(req.name);
  const at = Date.now();
  const proof = joinProof(req.token.secret, {
    caDigest: req.token.caDigest,
    tokenId: req.token.id,
    name: req.name,
    route,
    at,
    csrDigest: createHash("sha256").update(csr.csrDer).digest("hex"),
    replace: req.replace,
  });
  progress(`CA verified (sha256 ${digest.slice(0, 16)}…); asking to join as "${req.name}" with route ${route}`);
  const ask = async () => (await wireRequest(req.address, {
    op: "join", tokenId: req.token.id, name: req.name, route, at, csr: csr.csrPem, proof, id: req.id, sans, replace: req.replace,
  }, { ca: caPem, timeoutMs: JOIN_ASK_TIMEOUT_MS })).body;
  let reply = await ask();
  // Busy: the member admitted before this one is not in the meta group yet (boxes join one at a time).
  for (const until = Date.now() + JOIN_BUSY_MAX_MS; reply.ok !== true && reply.busy === true && Date.now() < until;) {
    progress(`waiting for the cluster to take in the box that joined before this one: ${String(reply.error ?? "")}`);
    await new Promise((r) => setTimeout(r, JOIN_BUSY_RETRY_MS));
    reply = await ask();
  }
  if (reply.ok !== true) throw new JoinRefused(`${req.address.text} refused the join: ${String(reply.error ?? "no reason given")}. Nothing was written`);
  const { cert, secret, cluster } = reply as Record<string, unknown>;
  if (typeof cert !== "string" || typeof secret !== "string" || typeof cluster !== "string") throw new RuntimeError(`${req.address.text} answered the join without a certificate, secret or cluster name (a unibus bug)`);
  const issued = parseCertificate(cert);
  if (!(await isIssuedBy(issued, ca))) throw new RuntimeError(`the certificate from ${req.address.text} is not signed by the cluster CA; nothing was written`);
  if (issued.subjectName.getField("CN")[0] !== req.name) throw new RuntimeError(`the certificate from ${req.address.text} is for ${issued.subject}, not "${req.name}"; nothing was written`);
  const members = Array.isArray(reply.members) ? (reply.members as unknown[]).filter(isMemberRecord) : [];
  const jetstreamAt = typeof reply.jetstreamAt === "string" ? reply.jetstreamAt : undefined;
  const client = isClientPolicy(reply.client) ? reply.client : undefined;
  const access = Array.isArray(reply.access) ? (reply.access as unknown[]).filter((e): e is AccessEntry => !entryProblem(e)) : [];
  return { cluster, caPem, certPem: cert, keyPem: csr.keyPem, secret, members, route, advertiseHost, sans, access, ...(client ? { client } : {}), ...(jetstreamAt ? { jetstreamAt } : {}) };
}
