/**
 * trust-offer.ts is how a member judges the CAs a CA holder says the cluster
 * trusts (in every hello and check-in answer). A CA the member does not trust
 * yet is taken only with an endorsement by a CA it does trust, so an offer
 * heard over an unverified connection (a member that missed a rotation's
 * start cannot verify the CA holder's new certificate) cannot plant a CA. A
 * CA the cluster stopped trusting is dropped once the member's own
 * certificate comes from one the cluster still trusts, and only on the word
 * of a CA holder it verified; if its certificate's CA is gone, the member was
 * away while the rotation finished and must join again.
 */
import { certFingerprint, isEndorsed, parseCertificates } from "../pki/index.ts";
type X509Certificate = Awaited<ReturnType<typeof parseCertificates>>[number];

/** TrustOffer is the CA part of a CA holder's answer, PEM texts. */
export interface TrustOffer {
  /** The CA that signs new certificates now. */
  ca?: string;
  trust: string[];
  endorsements: string[];
}

/** TrustVerdict says what a member does with an offer. */
export type TrustVerdict =
  | { kind: "same"; renew: boolean }
  | { kind: "update"; trust: X509Certificate[]; renew: boolean }
  | { kind: "retired"; cluster: string[] };

/** trustOfferOf picks the offer out of an answer; undefined when the answer has none (an older CA holder). */
export function trustOfferOf(body: Record<string, unknown>): TrustOffer | undefined {
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  const trust = strings(body.trust);
  if (trust.length === 0) return undefined;
  return { ...(typeof body.ca === "string" ? { ca: body.ca } : {}), trust, endorsements: strings(body.endorsements) };
}

/**
 * judgeTrust compares the member's trust (mine) and the issuer of its own
 * certificate with an offer. renew is true when the cluster signs with
 * another CA than the one that issued the member's certificate.
 */
export async function judgeTrust(mine: X509Certificate[], ownIssuer: string | undefined, offer: TrustOffer, options: { verified: boolean } = { verified: true }): Promise<TrustVerdict> {
  const offered = offer.trust.flatMap(parseCertificates);
  const endorsements = offer.endorsements.flatMap(parseCertificates);
  const accepted: X509Certificate[] = [];
  for (const c of offered) if (await isEndorsed(c, endorsements, mine)) accepted.push(c);
  // Nothing offered is ours or vouched for by ours: another cluster, or a stranger; change nothing.
  if (accepted.length === 0) return { kind: "same", renew: false };
  const offeredFps = offered.map(certFingerprint);
  if (ownIssuer && !offeredFps.includes(ownIssuer)) return { kind: "retired", cluster: offeredFps };
  const signing = offer.ca ? parseCertificates(offer.ca)[0] : undefined;
  const renew = Boolean(signing && ownIssuer && certFingerprint(signing) !== ownIssuer && accepted.some((c) => certFingerprint(c) === certFingerprint(signing)));
  const mineFps = new Set(mine.map(certFingerprint));
  // Heard over an unverified connection, an offer may add endorsed CAs but never drop one.
  const trust = options.verified ? accepted : [...mine, ...accepted.filter((c) => !mineFps.has(certFingerprint(c)))];
  const same = trust.length === mineFps.size && trust.every((c) => mineFps.has(certFingerprint(c)));
  return same ? { kind: "same", renew } : { kind: "update", trust, renew };
}
