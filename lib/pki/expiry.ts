/**
 * expiry.ts says when a certificate is expired or expires soon, once for
 * every surface: `unibus status`, the diagnosis, the admin page's
 * certificate panel, /metrics and the node's own log warning.
 */
import { DAY_MS } from "./_x509.ts";

/** CERT_WARN_DAYS is how many days before its expiry a certificate is worth a warning ("renew soon"). */
export const CERT_WARN_DAYS = 30;

/** Expiry is a certificate's remaining life at one moment. */
export interface Expiry {
  /** Whole days until notAfter; negative once it has passed. */
  daysLeft: number;
  /** True once notAfter has passed. */
  expired: boolean;
  /** True while it is still valid but has fewer than CERT_WARN_DAYS days left. */
  expiresSoon: boolean;
}

/** expiresSoon says whether `daysLeft` is under the warning threshold (CERT_WARN_DAYS). */
export function expiresSoon(daysLeft: number): boolean {
  return daysLeft < CERT_WARN_DAYS;
}

/** certificateExpiry computes a certificate's Expiry from its notAfter at `now` (ms since the epoch). */
export function certificateExpiry(notAfter: Date | number, now: number): Expiry {
  const end = typeof notAfter === "number" ? notAfter : notAfter.getTime();
  const daysLeft = Math.floor((end - now) / DAY_MS);
  const expired = daysLeft < 0 || end <= now;
  return { daysLeft, expired, expiresSoon: !expired && expiresSoon(daysLeft) };
}
