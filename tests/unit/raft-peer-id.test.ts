/**
 * nats-server's RAFT peer id of a server name (getHash in server/events.go):
 * the values were computed by nats-server's own Go code, and "pi-4" is the id
 * a user saw in /jsz as "Server name unknown at this time (peerID: IGbW5q4x)".
 */
import { describe, expect, test } from "bun:test";
import { namesPeer, raftPeerId, unknownPeerId } from "../../lib/natsd/raft-peer-id.ts";

describe("raft peer id", () => {
  test("matches nats-server's getHash", () => {
    expect(raftPeerId("pi-4")).toBe("IGbW5q4x");
    expect(raftPeerId("a")).toBe("GR5IGR3G");
    expect(raftPeerId("d")).toBe("Om0r5sMD");
  });
  test("a meta-group entry whose name nats-server does not know still names the server", () => {
    const entry = { name: "Server name unknown at this time (peerID: IGbW5q4x)", peer: "" };
    expect(unknownPeerId(entry.name)).toBe("IGbW5q4x");
    expect(namesPeer(entry, "pi-4")).toBe(true);
    expect(namesPeer(entry, "pi-3")).toBe(false);
    expect(namesPeer({ name: "x", peer: "IGbW5q4x" }, "pi-4")).toBe(true);
  });
});
