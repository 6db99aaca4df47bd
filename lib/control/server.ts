/**
 * server.ts opens and closes the node's control socket
 * (`<data_dir>/control.sock`, 0600 in the 0700 data dir: the service user
 * and root reach it). The node starts it once it holds the data dir's lock,
 * so a socket file left by a killed node is stale and is replaced.
 */
import { chmodSync, rmSync } from "node:fs";
import { dataDirLayout } from "../data-dir.ts";
import { describeError } from "../errors.ts";
import { serveUnix, type HttpServer } from "../runtime-http.ts";
import type { ControlContext } from "./route.ts";
import { createControlApp } from "./routes.ts";

/** UNIX_PATH_MAX is the longest socket path Linux binds (sun_path is 108 bytes with its NUL). */
const UNIX_PATH_MAX = 107;

/** ControlServer is one node's control socket; start() and stop() are idempotent. */
export class ControlServer {
  readonly #ctx: ControlContext;
  readonly #socket: string;
  #server?: HttpServer;

  constructor(dataDir: string, ctx: ControlContext) {
    this.#ctx = ctx;
    this.#socket = dataDirLayout(dataDir).controlSocket;
  }

  /** socket is the socket's path. */
  get socket(): string { return this.#socket; }

  /**
   * start binds the socket. A data dir whose path is too long for a unix
   * socket, or a bind that fails, is logged and leaves the channel closed:
   * the node runs, and the CLI falls back to signals and files.
   */
  start(): void {
    if (this.#server) return;
    if (Buffer.byteLength(this.#socket) > UNIX_PATH_MAX) {
      this.#ctx.log.warn("the control socket's path is too long for a unix socket; unibus reload and status fall back to signals and files", { socket: this.#socket });
      return;
    }
    try {
      rmSync(this.#socket, { force: true });
      const app = createControlApp(this.#ctx);
      this.#server = serveUnix((request) => app.fetch(request), this.#socket);
      chmodSync(this.#socket, 0o600);
    } catch (err) {
      this.#ctx.log.warn("could not open the control socket; unibus reload and status fall back to signals and files", { socket: this.#socket, error: describeError(err) });
    }
  }

  /** stop closes the socket and removes its file. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    await server.stop();
    rmSync(this.#socket, { force: true });
  }

  /** Symbol.asyncDispose lets tests write `await using control = …`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
