/**
 * Certificates, told plainly, on one node's real files. An expired node
 * certificate says EXPIRED (not "-332 days left"). A node whose config now
 * points at another CA refuses to start instead of issuing itself a
 * certificate every peer rejects. (A node with its own CA in a running
 * cluster: tests/health-follower-views-agree.test.ts; a node with another
 * route secret: tests/health-surfaces-agree.test.ts; their words:
 * tests/unit/rules/ca-mismatch.test.ts and route-auth.test.ts.)
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { issueNodeCertificate, loadCa, writeNodeFiles, expectedSans } from "../lib/pki/index.ts";
import { makeCaDir } from "./pki-fixtures.ts";
import { RunningUnibus, freePort, nodeToml, runUnibus, tempDir, writeConfig } from "./_helpers.ts";
import { STATUS_CODES, status } from "./health-fixtures.ts";

const dir = tempDir("unibus-health-certs-");
afterAll(() => {
  dir[Symbol.dispose]();
});

describe("one node's certificate", () => {
  test("an expired node certificate is EXPIRED in status, with the fix; exit 4", async () => {
    const past = new Date(Date.now() - 400 * 86_400_000);
    const ca = await makeCaDir(dir.path, "ca-expired", { now: past, days: 3650 });
    const nodeDir = join(dir.path, "expired");
    mkdirSync(nodeDir, { recursive: true });
    const config = writeConfig(nodeDir, nodeToml({ name: "old-box", client: await freePort(), monitor: await freePort(), extra: `[tls]\nca_cert = "${ca.cert}"\nca_key = "${ca.key}"\n` }));
    await writeNodeFiles(join(nodeDir, "data", "tls"), await issueNodeCertificate(await loadCa(ca.cert, ca.key, past), { name: "old-box", sans: expectedSans("old-box", []), days: 68, now: past }));
    const s = await status({ config, dataDir: join(nodeDir, "data") });
    expect(s.code).toBe(STATUS_CODES.broken);
    expect(s.text).toMatch(/problem \d \[broken\] on old-box: the node certificate .*node\.pem EXPIRED on \d{4}-\d\d-\d\d \(33\d days ago\): peers and TLS clients refuse it/);
    expect(s.text).toContain("fix: restart unibus on this node: it issues a new certificate from the CA");
    expect(s.text).toMatch(/certificate {3}CN=old-box, until \d{4}-\d\d-\d\d, EXPIRED 33\d days ago/);
    expect(s.text).not.toMatch(/-\d+ days left/);
    expect(s.json.problems.map((p: { kind: string }) => p.kind)).toContain("certificate_expired");
  });

  test("a node whose tls.ca_cert now names another CA refuses to start and says the CA changed", async () => {
    const first = await makeCaDir(dir.path, "ca-first");
    const second = await makeCaDir(dir.path, "ca-second");
    const nodeDir = join(dir.path, "moved");
    mkdirSync(nodeDir, { recursive: true });
    const ports = { client: await freePort(), monitor: await freePort() };
    const config = writeConfig(nodeDir, nodeToml({ name: "moved", ...ports, extra: `[tls]\nca_cert = "${first.cert}"\nca_key = "${first.key}"\n` }));
    const node = new RunningUnibus(["--config", config], {}, nodeDir);
    await node.ready();
    await node.stop();
    const issued = readFileSync(join(nodeDir, "data", "tls", "node.pem"), "utf8");
    writeConfig(nodeDir, nodeToml({ name: "moved", ...ports, extra: `[tls]\nca_cert = "${second.cert}"\nca_key = "${second.key}"\n` }));
    const res = await runUnibus(["--config", config], { timeoutMs: 60_000 });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("was issued by another CA");
    expect(res.stderr).toContain("this node's CA changed");
    expect(res.stderr).toContain(`delete ${join(nodeDir, "data", "tls", "node.pem")}`);
    expect(readFileSync(join(nodeDir, "data", "tls", "node.pem"), "utf8")).toBe(issued);
  }, 120_000);
});
