/**
 * wire.ts is the membership service's transport: one JSON request line and
 * one JSON answer line over TLS, on the CA holders' join port. The server
 * asks every client for a certificate but lets a client without one in, so a
 * box that has no certificate yet can fetch the CA and join; requests that
 * need a member (renewal, check-in, remove) read the verified peer identity
 * that comes with each request. Plain node:tls, because the handler must see
 * the client certificate.
 */
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import tls from "node:tls";
import type { HostPort } from "../config/units.ts";
import { certificateTimeError, isCertificateTimeError } from "../pki/clock-hint.ts";

/** MAX_REQUEST_BYTES bounds one request line: a CSR and a member list fit many times over. */
const MAX_REQUEST_BYTES = 256 * 1024;
/** REQUEST_TIMEOUT_MS bounds how long one exchange may take on either side: on the server, reading the request. */
export const REQUEST_TIMEOUT_MS = 10_000;
/**
 * ANSWER_TIMEOUT_MS bounds how long the server lets its handler take once the
 * request is read. It must exceed the longest a handler holds an answer on
 * purpose (a join waits up to JOIN_HOLD_MS, 8 s, for the member before it):
 * with REQUEST_TIMEOUT_MS there too, the socket's idle timer closed every held
 * join at 10 s, and the joining box failed with "closed the connection
 * without an answer" instead of being answered busy and retrying.
 */
export const ANSWER_TIMEOUT_MS = 30_000;

/** PeerIdentity is who sent a request: its address and, when it presented one, its verified certificate. */
export interface PeerIdentity {
  address: string;
  /** True only when the client presented a certificate that chains to the cluster CA. */
  verified: boolean;
  /** The certificate's common name (a member's node name) when verified. */
  name?: string;
  /** sha256 of the peer certificate (DER, hex) when verified. */
  fingerprint?: string;
  /** sha256 (DER, hex) of the trusted CA that issued the peer certificate, when verified. */
  issuerFingerprint?: string;
}

/** WireHandler answers one request; what it returns is sent back as the answer line. */
export type WireHandler = (request: Record<string, unknown>, peer: PeerIdentity) => Promise<Record<string, unknown>>;

/** TlsMaterial is a certificate chain, its key and the CA that client certificates must chain to (all PEM text). */
export interface TlsMaterial { cert: string; key: string; ca: string }

/** WireServer is the listening side; stop() closes it and is idempotent. */
export interface WireServer {
  readonly address: string;
  /** setCertificate swaps in a renewed certificate for new connections. */
  setCertificate(material: TlsMaterial): void;
  stop(): Promise<void>;
}

/** WireTimeouts bound one connection on the server (ms): reading its request, then the handler's answer; tests shorten them. */
export interface WireTimeouts { requestMs?: number; answerMs?: number }

/** serveWire listens on listen and answers each connection's one request with handler. */
export function serveWire(listen: HostPort, material: TlsMaterial, handler: WireHandler, timeouts: WireTimeouts = {}): Promise<WireServer> {
  const server = tls.createServer({ ...material, requestCert: true, rejectUnauthorized: false, minVersion: "TLSv1.2" }, (socket) => {
    socket.setTimeout(timeouts.requestMs ?? REQUEST_TIMEOUT_MS, () => socket.destroy());
    let buffer = "";
    let done = false;
    socket.setEncoding("utf8");
    socket.on("error", () => socket.destroy());
    socket.on("data", (chunk: string) => {
      if (done) return;
      buffer += chunk;
      const nl = buffer.indexOf("\n");
      if (nl < 0) {
        if (buffer.length > MAX_REQUEST_BYTES) {
          done = true;
          socket.end(JSON.stringify({ ok: false, error: "request too large" }) + "\n");
        }
        return;
      }
      done = true;
      // The request is read: from now on the handler's time counts, which may be held on purpose.
      socket.setTimeout(timeouts.answerMs ?? ANSWER_TIMEOUT_MS);
      void answer(socket, buffer.slice(0, nl), handler);
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host.replace(/^\[|\]$/g, ""), () => {
      server.off("error", reject);
      server.on("error", () => {});
      resolve({
        address: listen.text,
        setCertificate: (m) => server.setSecureContext({ ...m, minVersion: "TLSv1.2" } as tls.SecureContextOptions),
        stop: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

async function answer(socket: tls.TLSSocket, line: string, handler: WireHandler): Promise<void> {
  let reply: Record<string, unknown>;
  try {
    const request = JSON.parse(line) as unknown;
    if (!request || typeof request !== "object" || Array.isArray(request)) throw new Error("expected a JSON object");
    reply = await handler(request as Record<string, unknown>, peerIdentity(socket));
  } catch (err) {
    reply = { ok: false, error: err instanceof SyntaxError ? "request is not JSON" : (err as Error).message };
  }
  socket.end(JSON.stringify(reply) + "\n");
}

function peerIdentity(socket: tls.TLSSocket): PeerIdentity {
  const address = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
  if (!socket.authorized) return { address, verified: false };
  const cert = socket.getPeerCertificate(true);
  const cn = cert?.subject?.CN;
  const raw = cert?.raw;
  const issuerRaw = cert?.issuerCertificate && cert.issuerCertificate !== cert ? cert.issuerCertificate.raw : undefined;
  return {
    address,
    verified: true,
    ...(typeof cn === "string" ? { name: cn } : {}),
    ...(raw ? { fingerprint: createHash("sha256").update(raw).digest("hex") } : {}),
    ...(issuerRaw ? { issuerFingerprint: createHash("sha256").update(issuerRaw).digest("hex") } : {}),
  };
}

/** WireClientOptions say how the client trusts the server and whether it shows a certificate. */
export interface WireClientOptions {
  /** The CA the server's certificate must chain to; without it the server is not verified (first contact only). */
  ca?: string;
  /** The client's own certificate and key, for requests that need a member. */
  cert?: string;
  key?: string;
  timeoutMs?: number;
}

/** WireReply is the server's answer and what the connection revealed. */
export interface WireReply {
  body: Record<string, unknown>;
  /** The server's leaf certificate (DER). */
  serverCertDer?: Uint8Array;
  /** The address of this host on the connection: the interface that faces the server. */
  localAddress?: string;
}

/**
 * wireRequest sends one request and returns the answer. With `ca` the server
 * must present a certificate from that CA (any member's name will do: every
 * certificate the cluster CA signed belongs to a member).
 */
export function wireRequest(to: HostPort, request: Record<string, unknown>, options: WireClientOptions = {}): Promise<WireReply> {
  const host = to.host.replace(/^\[|\]$/g, "");
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port: to.port,
      ...(options.ca ? { ca: options.ca, rejectUnauthorized: true, checkServerIdentity: () => undefined } : { rejectUnauthorized: false }),
      ...(options.cert && options.key ? { cert: options.cert, key: options.key } : {}),
      ...(isIP(host) ? {} : { servername: host }),
      minVersion: "TLSv1.2",
    });
    let buffer = "";
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS, () => fail(new Error(`no answer from ${to.text} within ${Math.round((options.timeoutMs ?? REQUEST_TIMEOUT_MS) / 1000)} s`)));
    socket.setEncoding("utf8");
    socket.on("error", (err) => {
      // A wrong clock shows as "certificate is not yet valid": name the certificate, its dates and this clock.
      if (!isCertificateTimeError(err)) return fail(err);
      void readPeerCertificate(host, to.port).then((peer) => fail(certificateTimeError(err, peer, to.text) ?? err));
    });
    socket.on("secureConnect", () => socket.write(JSON.stringify(request) + "\n"));
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf("\n");
      if (nl < 0) return;
      const raw = socket.getPeerCertificate()?.raw;
      const localAddress = socket.localAddress;
      socket.end();
      try {
        resolve({ body: JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>, ...(raw ? { serverCertDer: new Uint8Array(raw) } : {}), ...(localAddress ? { localAddress } : {}) });
      } catch {
        reject(new Error(`${to.text} answered something that is not JSON: is it a unibus join port?`));
      }
    });
    socket.on("end", () => {
      if (!buffer.includes("\n")) fail(new Error(`${to.text} closed the connection without an answer`));
    });
  });
}

/**
 * readPeerCertificate reads a server's certificate without verifying it, only
 * to name its dates in an error (it is never trusted): a refused handshake
 * does not expose the certificate it refused.
 */
function readPeerCertificate(host: string, port: number): Promise<tls.PeerCertificate | undefined> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false, ...(isIP(host) ? {} : { servername: host }), minVersion: "TLSv1.2" });
    const done = (cert: tls.PeerCertificate | undefined) => {
      socket.destroy();
      resolve(cert);
    };
    socket.setTimeout(5_000, () => done(undefined));
    socket.on("error", () => done(undefined));
    socket.on("secureConnect", () => done(socket.getPeerCertificate()));
  });
}
