/**
 * clock-hint.ts turns a TLS "certificate is not yet valid" / "certificate has
 * expired" into what a user can act on: which certificate, its dates, this
 * box's clock, and how to set the clock. A box whose clock is 500 days behind
 * (a Pi without a real-time clock, no NTP yet) otherwise only hears
 * "certificate is not yet valid".
 */
import type { PeerCertificate } from "node:tls";

/** CLOCK_FIX is how to set a Debian box's clock. */
export const CLOCK_FIX = "set the clock: timedatectl shows it; turn on NTP with sudo timedatectl set-ntp true (or sudo timedatectl set-time 'YYYY-MM-DD HH:MM:SS')";

/** isCertificateTimeError tells a TLS error about validity dates (a wrong clock, or a really expired certificate). */
export function isCertificateTimeError(err: Error & { code?: string }): boolean {
  return err.code === "CERT_NOT_YET_VALID" || err.code === "CERT_HAS_EXPIRED";
}

/**
 * certificateTimeError explains a TLS verification error caused by the
 * certificate's validity dates against this box's clock; undefined for
 * every other error.
 */
export function certificateTimeError(err: Error & { code?: string }, peer: Partial<PeerCertificate> | undefined, where: string, now: Date = new Date()): Error | undefined {
  if (!isCertificateTimeError(err)) return undefined;
  const subject = peer?.subject?.CN ? `CN=${peer.subject.CN}` : "its certificate";
  const from = peer?.valid_from ? new Date(peer.valid_from) : undefined;
  const to = peer?.valid_to ? new Date(peer.valid_to) : undefined;
  const iso = (d: Date | undefined) => (d && !Number.isNaN(d.getTime()) ? d.toISOString() : "?");
  const what = `the certificate ${where} presented (${subject}, valid ${iso(from)} to ${iso(to)})`;
  const clock = `this box's clock says ${now.toISOString()}`;
  const text = err.code === "CERT_NOT_YET_VALID"
    ? `${what} is not yet valid: ${clock}, so the clock is probably behind; ${CLOCK_FIX}; then run it again`
    : `${what} has expired by this box's clock: ${clock}; if that is wrong, ${CLOCK_FIX}; if it is right, the certificate must be renewed on its own box`;
  return new Error(text, { cause: err });
}
