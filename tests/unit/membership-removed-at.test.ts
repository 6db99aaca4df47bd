/**
 * A box that learns from a CA holder that it was removed says when the
 * removal happened, not when it learned it (on the bed, two boxes removed by
 * `unibus recover` while powered off said "removed at" their own boot time,
 * "(unibus remove)").
 */
import { expect, test } from "bun:test";
import { removedAt } from "../../lib/membership/agent.ts";
import { leftMessage } from "../../lib/membership/left-marker.ts";

test("the removal time comes from the CA holders' removed record of this node", () => {
  const t = Date.parse("2026-12-07T12:20:33.615Z");
  const replies = [undefined, { members: [{ name: "hub-2", removed: true, updatedAt: t }, { name: "hub-1", updatedAt: t + 5 }] }, { members: [{ name: "hub-2", removed: true, updatedAt: t + 900 }] }];
  expect(removedAt(replies, "hub-2")).toBe("2026-12-07T12:20:33.615Z");
  expect(removedAt(replies, "hub-1")).toBeUndefined();
  expect(removedAt([{ members: "nonsense" }], "hub-2")).toBeUndefined();
});

test("a removed node's message names both ways it can have been removed", () => {
  expect(leftMessage({ cluster: "homelab", name: "hub-2", at: "2026-12-07T12:20:33.615Z", how: "removed" }))
    .toBe('node "hub-2" was removed from cluster "homelab" at 2026-12-07T12:20:33.615Z (unibus remove or unibus recover on another member) and does not start as a member again');
});
