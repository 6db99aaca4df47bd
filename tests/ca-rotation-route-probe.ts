/**
 * ca-rotation-route-probe.ts dials a nats-server route port the way a peer
 * does (a TLS handshake with a client certificate first; nats then sends its
 * INFO inside TLS) and says whether the server took the certificate (INFO
 * arrived) or refused it (an alert or a close), and which certificate the
 * server presented. Run inside a node's network namespace by the CA rotation test.
 *
 *   bun ca-rotation-route-probe.ts HOST PORT CERTFILE KEYFILE
 * prints {"accepted": bool, "error"?: string, "serverCert"?: PEM}
 */
import { readFileSync } from "node:fs";
import tls from "node:tls";
import { X509Certificate } from "node:crypto";

const [host, port, certFile, keyFile] = process.argv.slice(2);
const out: { accepted: boolean; error?: string; serverCert?: string } = { accepted: false };
const secure = tls.connect({ host: host!, port: Number(port), cert: readFileSync(certFile!), key: readFileSync(keyFile!), rejectUnauthorized: false });
await new Promise<void>((resolve) => {
  const timer = setTimeout(() => {
    out.error = "no INFO within 10 s";
    resolve();
  }, 10_000);
  const end = () => {
    clearTimeout(timer);
    resolve();
  };
  secure.on("secureConnect", () => {
    const raw = secure.getPeerCertificate()?.raw;
    if (raw) out.serverCert = new X509Certificate(raw).toString();
  });
  secure.on("data", (d: Buffer) => {
    if (d.toString().startsWith("INFO ")) out.accepted = true;
    else out.error = d.toString().trim().slice(0, 200);
    end();
  });
  secure.on("error", (err) => {
    out.error = err.message;
    end();
  });
  secure.on("close", () => {
    out.error ??= "the server closed the connection";
    end();
  });
});
secure.destroy();
console.log(JSON.stringify(out));
