/**
 * runtime-http.ts serves a fetch handler with Bun.serve, over TLS when given
 * PEM files: the admin page's listener.
 */

/** HttpServer is a running HTTP(S) listener; stop() closes it and its connections. */
export interface HttpServer {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * serveHttp serves a fetch handler (the admin app) on one address, over TLS
 * when given PEM files. It throws when the address cannot be bound.
 */
export function serveHttp(
  fetch: (request: Request) => Response | Promise<Response>,
  options: { hostname: string; port: number; tls?: { certFile: string; keyFile: string } },
): HttpServer {
  const scheme = options.tls ? "https" : "http";
  const server = Bun.serve({
    hostname: options.hostname,
    port: options.port,
    development: false,
    // Bun hands a request without a Host header (HTTP/1.0: curl -0, busybox wget, old probes) a
    // relative url ("/readyz"); routers read the path from an absolute one, so give it the listener's.
    // No Host means no name to put there; the app reads only the path and query.
    fetch: (request: Request) => (/^https?:\/\//.test(request.url) ? fetch(request) : fetch(new Request(new URL(request.url, `${scheme}://localhost`).href, request))),
    error: () => new Response("internal error\n", { status: 500, headers: { "content-type": "text/plain" } }),
    ...(options.tls ? { tls: { cert: Bun.file(options.tls.certFile), key: Bun.file(options.tls.keyFile) } } : {}),
  });
  return {
    port: server.port ?? options.port,
    stop: async () => { await server.stop(true); },
  };
}

/**
 * serveUnix serves a fetch handler on a unix socket at `path` (the node's
 * control channel). The caller removes a stale socket first and sets the
 * socket's mode; it throws when the path cannot be bound.
 */
export function serveUnix(fetch: (request: Request) => Response | Promise<Response>, path: string): HttpServer {
  const server = Bun.serve({
    unix: path,
    development: false,
    fetch: (request: Request) => (/^https?:\/\//.test(request.url) ? fetch(request) : fetch(new Request(new URL(request.url, "http://localhost").href, request))),
    error: () => new Response(JSON.stringify({ error: "internal error" }), { status: 500, headers: { "content-type": "application/json" } }),
  });
  return { port: 0, stop: async () => { await server.stop(true); } };
}

/**
 * fetchUnix sends one HTTP request over the unix socket at `socket`; `path`
 * is the request path ("/status"). Rejects like fetch when the socket is
 * missing (ENOENT), refuses (ECONNREFUSED) or may not be opened (EACCES).
 */
export function fetchUnix(socket: string, path: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<Response> {
  const { timeoutMs, ...rest } = init;
  return fetch(`http://localhost${path}`, { ...rest, unix: socket, ...(timeoutMs ? { signal: AbortSignal.timeout(timeoutMs) } : {}) } as RequestInit);
}
