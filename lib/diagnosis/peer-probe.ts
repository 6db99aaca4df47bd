/**
 * peer-probe.ts asks a peer's route port who it is, the way nats-server's own
 * route handshake does: nats sends its INFO (server name, cluster name) in
 * clear before TLS, then presents its certificate. Reading both tells a
 * missing peer's true cause without guessing: another cluster name, this
 * node's own name, a certificate from another CA, or nothing listening.
 */
import { X509Certificate } from "node:crypto";
import { connect as tcpConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { joinHostPort } from "../config/units.ts";

/** PeerProbe is what a peer's route port said. */
export interface PeerProbe {
  address: string;
  reachable: boolean;
  /** Why the port could not be read (connection refused, timeout…). */
  error?: string;
  /** From the peer's INFO. */
  serverName?: string;
  cluster?: string;
  /** The certificate the peer presents on routes. */
  certSubject?: string;
  /** False when the peer's certificate was not issued by this node's CA. */
  trusted?: boolean;
}

/** ProbeCredentials let the probe finish the mutual-TLS handshake as this node would. */
export interface ProbeCredentials { caPem: string; certPem?: string; keyPem?: string }

function readInfo(socket: Socket | TLSSocket, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => done(new Error(`no INFO within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      buf += chunk.toString("latin1");
      const nl = buf.indexOf("\r\n");
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      if (!line.startsWith("INFO ")) return done(new Error(`not a nats route port (it said ${JSON.stringify(line.slice(0, 40))})`));
      try {
        done(undefined, JSON.parse(line.slice(5)) as Record<string, unknown>);
      } catch {
        done(new Error("unreadable INFO"));
      }
    };
    const onError = (err: Error) => done(err);
    const onClose = () => done(new Error("closed before INFO"));
    function done(err?: Error, info?: Record<string, unknown>) {
      clearTimeout(timer);
      socket.off("data", onData).off("error", onError).off("close", onClose);
      if (err) reject(err);
      else resolve(info!);
    }
    socket.on("data", onData).on("error", onError).on("close", onClose);
  });
}

function connectTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    const timer = setTimeout(() => { socket.destroy(); reject(Object.assign(new Error(`no answer within ${timeoutMs} ms (a firewall, or the host is down)`), { unreachable: true })); }, timeoutMs);
    socket.once("connect", () => { clearTimeout(timer); resolve(socket); });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why: string = err.code === "ECONNREFUSED" ? "connection refused (nothing listens there: unibus is not running, or uses another route port)"
        : err.code === "EHOSTUNREACH" || err.code === "ENETUNREACH" ? "no route to host (network down or wrong address)"
        : err.message;
      reject(Object.assign(new Error(why), { unreachable: true }));
    });
  });
}

/** PROBE_TIMEOUT_MS bounds each step of a probe (connect, TLS, INFO); a loaded Pi doing ECDSA needs seconds. */
export const PROBE_TIMEOUT_MS = 5_000;

/**
 * probePeer reads a peer route port's certificate and INFO; it never throws.
 * A route port with TLS starts with the handshake (nats sends INFO inside
 * it), one without sends INFO in clear at once.
 */
export async function probePeer(host: string, port: number, creds: ProbeCredentials | undefined, timeoutMs = PROBE_TIMEOUT_MS): Promise<PeerProbe> {
  const address = joinHostPort(host, port);
  let socket: Socket | undefined;
  let secure: TLSSocket | undefined;
  try {
    socket = await connectTcp(host, port, timeoutMs);
    const out: PeerProbe = { address, reachable: true };
    let info: Record<string, unknown>;
    if (creds) {
      const tls = await startTls(socket, host, creds, timeoutMs);
      secure = tls.socket;
      Object.assign(out, tls.cert);
      info = await readInfo(tls.socket, timeoutMs).catch(() => ({}));
    } else {
      info = await readInfo(socket, timeoutMs);
    }
    const name = info.server_name ?? info.name;
    if (typeof name === "string") out.serverName = name;
    if (typeof info.cluster === "string") out.cluster = info.cluster;
    return out;
  } catch (err) {
    return { address, reachable: !(err as { unreachable?: boolean }).unreachable && socket !== undefined, error: (err as Error).message };
  } finally {
    secure?.destroy();
    socket?.destroy();
  }
}

function startTls(socket: Socket, host: string, creds: ProbeCredentials, timeoutMs: number): Promise<{ socket: TLSSocket; cert: Partial<PeerProbe> }> {
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({
      socket,
      rejectUnauthorized: false,
      ...(creds.certPem && creds.keyPem ? { cert: creds.certPem, key: creds.keyPem } : {}),
      ...(/^[\d.:]+$/.test(host) ? {} : { servername: host }),
    });
    const timer = setTimeout(() => { tls.destroy(); reject(new Error(`no TLS handshake within ${timeoutMs} ms`)); }, timeoutMs);
    tls.once("secureConnect", () => {
      clearTimeout(timer);
      const cert: Partial<PeerProbe> = {};
      try {
        const raw = tls.getPeerCertificate()?.raw;
        if (raw) {
          const peer = new X509Certificate(raw);
          // A trust bundle (old and new CA during a CA rotation): any of them will do.
          const cas = (creds.caPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b));
          cert.certSubject = peer.subject.replace(/\n/g, ", ");
          cert.trusted = cas.some((ca) => peer.checkIssued(ca) && peer.verify(ca.publicKey));
        }
      } catch { /* an unreadable certificate says nothing either way */ }
      resolve({ socket: tls, cert });
    });
    tls.once("error", (err) => { clearTimeout(timer); reject(new Error(`TLS handshake failed: ${err.message}`)); });
  });
}
