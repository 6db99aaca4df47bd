/**
 * A box whose clock is far off hears which certificate, its dates, this
 * box's clock and how to set the clock, not a bare "certificate is not yet
 * valid". Real TLS (the join port's wire protocol) against a server whose
 * certificate starts 500 days from now: to the client that is exactly a
 * clock 500 days behind.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { issueNodeCertificate, loadCa } from "../lib/pki/index.ts";
import { serveWire, wireRequest } from "../lib/membership/wire.ts";
import { parsePeer } from "../lib/config/units.ts";
import { DAY, makeCaDir } from "./pki-fixtures.ts";
import { freePort, tempDir } from "./_helpers.ts";

describe("join port TLS with a wrong clock", () => {
  test("a not-yet-valid server certificate is named with its dates, this clock and the clock fix", async () => {
    using dir = tempDir("unibus-wrong-clock-");
    const caFiles = await makeCaDir(dir.path, "ca", { now: new Date(Date.now() - DAY) });
    const caPem = readFileSync(caFiles.cert, "utf8");
    const later = new Date(Date.now() + 500 * DAY);
    const server = await issueNodeCertificate(await loadCa(caFiles.cert, caFiles.key), { name: "pi-1", sans: ["127.0.0.1"], now: later });
    const port = await freePort();
    const to = parsePeer(`127.0.0.1:${port}`);
    if (typeof to === "string") throw new Error(to);
    const wire = await serveWire(to, { cert: server.certPem, key: server.keyPem, ca: caPem }, async () => ({ ok: true }));
    try {
      const err = await wireRequest(to, { hello: 1 }, { ca: caPem, timeoutMs: 20_000 }).then(() => undefined, (e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      const text = err!.message;
      expect(text).toContain(`the certificate 127.0.0.1:${port} presented (CN=pi-1, valid ${server.cert.notBefore.toISOString()} to`);
      expect(text).toContain("is not yet valid: this box's clock says 20");
      expect(text).toContain("sudo timedatectl set-ntp true");
    } finally {
      await wire.stop();
    }
  }, 60_000);
});
