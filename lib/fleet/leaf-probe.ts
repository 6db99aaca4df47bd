/**
 * leaf-probe.ts asks a hub node's leaf port whether it is there, the way an
 * edge's nats-server would find it: TCP, the server's INFO line, then TLS
 * verified against the hub's CA (when the INFO asks for TLS, presenting the
 * edge's certificate when it has one), and nothing more. It signs in as nobody: the hub logs one closed leaf connection. An
 * edge away from its home hub node uses it to see the home come back before
 * it moves its uplink there (lib/fleet/home-return.ts).
 */
import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

/** LeafProbeResult says whether the leaf port answered as a nats-server, and which one. */
export type LeafProbeResult = { ok: true; serverName?: string } | { ok: false; error: string };

/** LeafProbeTls is what the probe's TLS uses: the hub's CA (PEM; the system's roots without it) and the edge's own certificate and key, if any. */
export interface LeafProbeTls { ca?: string; cert?: string; key?: string }

/**
 * probeLeafPort dials host:port, reads the INFO line and, when the server
 * requires TLS, completes a TLS handshake checked against tls.ca; it never
 * waits longer than timeoutMs.
 */
export function probeLeafPort(host: string, port: number, tls: LeafProbeTls = {}, timeoutMs = 3_000): Promise<LeafProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const sockets: Socket[] = [];
    const finish = (r: LeafProbeResult, graceful = false) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (graceful) {
        // end(), not destroy(): the client's last handshake message must reach the server, or it logs
        // "TLS leafnode handshake error: EOF" for a look that went well.
        sockets.at(-1)!.end();
        setTimeout(() => { for (const s of sockets) s.destroy(); }, 1_000).unref?.();
      } else {
        for (const s of sockets) s.destroy();
      }
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    const tcp = netConnect({ host, port });
    sockets.push(tcp);
    tcp.on("error", (err) => finish({ ok: false, error: err.message }));
    let buffered = "";
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString("latin1");
      const end = buffered.indexOf("\r\n");
      if (end < 0) {
        if (buffered.length > 65_536) finish({ ok: false, error: "no INFO line" });
        return;
      }
      tcp.off("data", onData);
      const line = buffered.slice(0, end);
      if (!line.startsWith("INFO ")) return finish({ ok: false, error: `not a nats-server: ${JSON.stringify(line.slice(0, 40))}` });
      let info: { server_name?: string; tls_required?: boolean };
      try {
        info = JSON.parse(line.slice(5)) as typeof info;
      } catch {
        return finish({ ok: false, error: "garbled INFO line" });
      }
      const answered: LeafProbeResult = { ok: true, ...(info.server_name ? { serverName: info.server_name } : {}) };
      if (!info.tls_required) return finish(answered, true);
      tcp.pause();
      const secure = tlsConnect({ socket: tcp, ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}), ...(isIP(host) ? {} : { servername: host }), host });
      sockets.push(secure);
      secure.on("secureConnect", () => finish(answered, true));
      secure.on("error", (err) => finish({ ok: false, error: `TLS: ${err.message}` }));
    };
    tcp.on("data", onData);
  });
}
