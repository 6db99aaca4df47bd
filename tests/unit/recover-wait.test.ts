/** How long `unibus recover`, refused right after a cut, tells the operator to wait. */
import { expect, test } from "bun:test";
import { LEADER_DROP_MS, RECENT_CONTACT_MS, recoverRetryInS } from "../../lib/membership/recover.ts";

test.each([
  ["others heard 12 s ago: the rest of the 60 s", [12_000, 15_000], 48],
  ["others heard 55 s ago: at least the time nats takes to drop the lost leader", [55_000, 58_000], LEADER_DROP_MS / 1000],
  ["one other never noted (unknown counts as just now)", [30_000, undefined], RECENT_CONTACT_MS / 1000],
  ["no other known", [], RECENT_CONTACT_MS / 1000],
  ["a fraction of a second is rounded up", [12_500], 48],
] as const)("%s", (_, heard, seconds) => {
  expect(recoverRetryInS(heard)).toBe(seconds);
});
