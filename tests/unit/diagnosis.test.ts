/**
 * The pieces of the diagnosis that need no process: nats-server's log lines
 * recognised and folded, a RAFT group read from a follower, the certificate
 * panel's EXPIRED, the verdict and its exit code.
 */
import { describe, expect, test } from "bun:test";
import { NatsEventBook, classifyNatsLine } from "../../lib/diagnosis/nats-events.ts";
import { groupMembers, metaPeers } from "../../lib/diagnosis/meta-view.ts";
import { RepeatFolder } from "../../lib/natsd/nats-log.ts";
import { STATUS_EXIT, verdictLine, verdictOf, type Problem } from "../../lib/diagnosis/problem.ts";
import { certView } from "../../lib/admin/panels/certificate.tsx";
import { nodeNameIsExplicit } from "../../lib/diagnosis/facts.ts";
import type { NodeIdentity } from "../../lib/pki/index.ts";

describe("nats-server's log lines", () => {
  test("each cause is recognised with its facts and the connection's address", () => {
    expect(classifyNatsLine('127.0.0.1:38690 - rid:17 - Rejecting connection, cluster name "lab2" does not match "lab"')).toEqual({
      kind: "cluster_name_mismatch", text: 'Rejecting connection, cluster name "lab2" does not match "lab"', detail: { remote: "lab2", local: "lab" }, address: "127.0.0.1:38690",
    });
    expect(classifyNatsLine('10.0.0.2:6222 - rid:9 - Remote server has a duplicate name: "raspberrypi"')?.detail).toEqual({ name: "raspberrypi" });
    expect(classifyNatsLine("127.0.0.1:43577 - rid:16 - Router connection closed: Cluster Name Conflict")?.kind).toBe("cluster_name_mismatch");
    expect(classifyNatsLine("127.0.0.1:1 - rid:2 - TLS route handshake error: tls: failed to verify certificate: x509: certificate signed by unknown authority (CN=c-3 SHA-256: 5b)")?.kind).toBe("route_tls_untrusted");
    expect(classifyNatsLine("127.0.0.1:1 - rid:2 - TLS route handshake error: remote error: tls: unknown certificate authority")?.kind).toBe("route_tls_rejected");
    expect(classifyNatsLine('Error trying to connect as leafnode to remote server "127.0.0.1:7422" (attempt 3): tls: failed to verify certificate: x509: certificate signed by unknown authority')).toMatchObject({ kind: "leaf_tls_untrusted", detail: { url: "127.0.0.1:7422" }, text: expect.stringContaining("(attempt N)") });
    expect(classifyNatsLine('127.0.0.1:38918 - lid:5 - authentication error - User "leaf"')).toMatchObject({ kind: "leaf_auth_failed", detail: { side: "accepting" } });
    expect(classifyNatsLine("127.0.0.1:45507 - lid:5 - Leafnode Error 'Authorization Violation'")).toMatchObject({ kind: "leaf_auth_failed", detail: { side: "dialing" } });
    expect(classifyNatsLine('127.0.0.1:5 - rid:3 - authentication error - User "unibus-route"')?.kind).toBe("route_auth_failed");
    expect(classifyNatsLine("Server is ready")).toBeUndefined();
    expect(classifyNatsLine('127.0.0.1:5 - cid:3 - authentication error - User "app"')).toBeUndefined(); // a client's wrong password is not a cluster cause
  });

  test("repeats fold into one entry with a count and a last seen", () => {
    const book = new NatsEventBook();
    for (let i = 0; i < 100; i++) book.observe(`127.0.0.1:${40000 + i} - rid:${i} - Rejecting connection, cluster name "lab2" does not match "lab"`, 1_000 + i * 1000);
    const [e, ...rest] = book.events();
    expect(rest).toEqual([]);
    expect(e!.count).toBe(100);
    expect(e!.firstSeen).toBe(1_000);
    expect(e!.lastSeen).toBe(100_000);
    expect(e!.addresses.length).toBeLessThanOrEqual(6);
    expect(book.events(200_000, 30_000)).toEqual([]); // stale: no longer the present
  });

  test("the journal gets a repeated error once a minute, then once with its count", () => {
    const folder = new RepeatFolder(60_000);
    const line = (i: number) => `127.0.0.1:${40000 + i} - rid:${i} - Rejecting connection, cluster name "lab2" does not match "lab"`;
    const out = [];
    for (let i = 0; i <= 120; i++) out.push(folder.fold("error", line(i), i * 1000));
    const logged = out.filter(Boolean);
    expect(logged).toHaveLength(3);
    expect(logged[1]!.msg).toContain("(repeated 60 times since");
    expect(folder.fold("info", "Starting JetStream", 0)).toEqual({ level: "info", msg: "Starting JetStream" });
    // The connection churn around a refused route folds the same way.
    const churn = (i: number) => `127.0.0.1:${40000 + i} - rid:${i} - Router connection closed: Cluster Name Conflict`;
    expect(folder.fold("info", churn(1), 0)).toBeDefined();
    expect(folder.fold("info", churn(2), 1000)).toBeUndefined();
  });
});

describe("a RAFT group seen from a follower", () => {
  // The case: n1 follows, n3 leads; nats reports the leader among the replicas and leaves n1 out.
  const followerView = { leader: "n3", replicas: [{ name: "n2", current: false }, { name: "n3", current: true }] };

  test("lists each member once, itself included, and does not paint the other follower red", () => {
    expect(groupMembers("n1", followerView)).toEqual([
      { name: "n3", leader: true, self: false, state: "current" },
      { name: "n1", leader: false, self: true, state: "current" },
      { name: "n2", leader: false, self: false, state: "unknown" },
    ]);
  });

  test("the leader's own view is trusted as it is", () => {
    expect(groupMembers("n3", { leader: "n3", replicas: [{ name: "n1", current: true }, { name: "n2", current: false }] }).map((m) => [m.name, m.state])).toEqual([["n3", "current"], ["n1", "current"], ["n2", "behind"]]);
  });

  test("offline comes from gossip and holds on a follower too; the meta group of a follower names no healthy peer offline", () => {
    expect(groupMembers("n1", { leader: "n3", replicas: [{ name: "n2", current: false, offline: true }, { name: "n3", current: true }] }).find((m) => m.name === "n2")!.state).toBe("offline");
    expect(metaPeers("n1", followerView).filter((p) => p.offline || p.current === false)).toEqual([]);
  });
});

describe("verdicts and certificates", () => {
  const p = (severity: "degraded" | "broken"): Problem => ({ kind: "peer_unreachable", severity, node: "n2", cause: "no route to peer n2", fix: "start it" });

  test("the worst problem decides; each verdict has its exit code", () => {
    expect(verdictOf([])).toBe("healthy");
    expect(verdictOf([p("degraded")])).toBe("degraded");
    expect(verdictOf([p("degraded"), p("broken")])).toBe("broken");
    expect(STATUS_EXIT).toEqual({ healthy: 0, degraded: 3, broken: 4 });
    expect(verdictLine({ verdict: "degraded", node: "n1", problems: [p("degraded")], checkedAt: "" })).toBe("DEGRADED: node n1, 1 degraded: no route to peer n2");
  });

  test("a certificate 332 days past its end says EXPIRED, not -332 days left", () => {
    const now = Date.parse("2026-11-29T12:00:00Z");
    const id = { subject: "CN=n1", issuer: "CN=CA", sans: [], notAfter: new Date(now - 332 * 86_400_000), renewAt: new Date(now - 400 * 86_400_000), notBefore: new Date(now - 700 * 86_400_000), daysLeft: -332 } as unknown as NodeIdentity;
    const v = certView(id, now);
    expect(v.expired).toBe(true);
    expect(v.warning).toMatch(/^EXPIRED on \d{4}-\d\d-\d\d \(332 days ago\)$/);
  });

  test("[node] name written or left to the host name", () => {
    expect(nodeNameIsExplicit('[node]\nname = "pi-1"\n[cluster]\nname = "lab"\n')).toBe(true);
    expect(nodeNameIsExplicit('[node]\ndata_dir = "d"\n[cluster]\nname = "lab"\n')).toBe(false);
    expect(nodeNameIsExplicit('[cluster]\nname = "lab"\n')).toBe(false);
  });
});

describe("the documented problem kinds", () => {
  test("README lists every kind /metrics can label, and no other", async () => {
    const { PROBLEM_KINDS } = await import("../../lib/diagnosis/problem.ts");
    const readme = await Bun.file(new URL("../../README.md", import.meta.url)).text();
    const at = readme.indexOf("Problem kinds (");
    expect(at).toBeGreaterThan(0);
    const paragraph = readme.slice(at, readme.indexOf("\n\n", at));
    const listed = [...paragraph.matchAll(/`([a-z]+(?:_[a-z]+)+)`/g)].map((m) => m[1]).filter((k) => !k!.startsWith("unibus_"));
    expect(new Set(listed)).toEqual(new Set(PROBLEM_KINDS));
  });
});
