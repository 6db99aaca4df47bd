/**
 * The join port answers a request its handler holds longer than the time
 * allowed to read it: the CA holder holds a join (JOIN_HOLD_MS) while the box
 * before it settles, and the socket's 10 s idle timer used to close every
 * join held longer (it was 12 s), so a box joining right after one that had
 * not started yet failed with "closed the connection without an answer" (seen
 * on the bed) instead of being answered busy and retrying. The answer now has
 * its own bound, whatever the hold. Real TLS on loopback, with the timeouts
 * shortened; about 1.5 s.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { freePort, tempDir } from "../_helpers.ts";
import { makeCaDir } from "../pki-fixtures.ts";
import { certificatePem, issueNodeCertificate, loadCa } from "../../lib/pki/index.ts";
import { ANSWER_TIMEOUT_MS, serveWire, wireRequest, type WireServer } from "../../lib/membership/wire.ts";
import { JOIN_HOLD_MS } from "../../lib/membership/service.ts";
import { JOIN_ASK_TIMEOUT_MS } from "../../lib/membership/join.ts";

const dir = tempDir("unibus-wire-held-");
let server: WireServer;
let ca = "";
let port = 0;

beforeAll(async () => {
  const made = await makeCaDir(dir.path, "ca");
  const loaded = await loadCa(made.cert, made.key);
  const own = await issueNodeCertificate(loaded, { name: "a", sans: ["a", "127.0.0.1"] });
  ca = certificatePem(loaded.cert);
  port = await freePort();
  server = await serveWire({ host: "127.0.0.1", port, text: `127.0.0.1:${port}` }, { cert: own.certPem, key: own.keyPem, ca },
    async (req) => {
      await new Promise((r) => setTimeout(r, Number(req.holdMs)));
      return { ok: true, held: req.holdMs };
    }, { requestMs: 500, answerMs: 3_000 });
});

afterAll(async () => {
  await server?.stop();
  dir[Symbol.dispose]();
});

test("an answer held past the request timeout still reaches the client", async () => {
  const reply = await wireRequest({ host: "127.0.0.1", port, text: `127.0.0.1:${port}` }, { op: "join", holdMs: 1_200 }, { ca, timeoutMs: 5_000 });
  expect(reply.body).toEqual({ ok: true, held: 1_200 });
}, 15_000);

test("the real bounds leave room for a held join: hold < the join's own wait, and < the server's answer bound", () => {
  expect(JOIN_HOLD_MS).toBeLessThan(JOIN_ASK_TIMEOUT_MS);
  expect(JOIN_HOLD_MS).toBeLessThan(ANSWER_TIMEOUT_MS);
});
