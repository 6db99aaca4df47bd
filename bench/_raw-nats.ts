/**
 * _raw-nats.ts is a minimal NATS protocol client for the throughput rows.
 * It writes pre-encoded PUB frames in large chunks and parses MSG frames
 * without decoding them to strings, so the client costs far less CPU per
 * message than nats-server does and is not what limits the measured rate.
 */
import { connect as tcpConnect, type Socket } from "node:net";

const CR = 13;
const SPACE = 32;

/** MsgHandler receives each MSG frame: the buffer, where its payload starts, and its size. */
export type MsgHandler = (buf: Buffer, payloadStart: number, size: number) => void;

/** RawConn is one NATS client connection speaking the text protocol directly. */
export class RawConn {
  readonly #sock: Socket;
  #rest: Buffer | null = null;
  #pongs: (() => void)[] = [];
  #drain: (() => void)[] = [];
  #closed = false;
  /** onMsg is called for every MSG frame; set it before subscribing. */
  onMsg: MsgHandler = () => {};
  /** errors collects -ERR lines from the server. */
  readonly errors: string[] = [];

  private constructor(sock: Socket) {
    this.#sock = sock;
    sock.setNoDelay(true);
    sock.on("data", (chunk: Buffer) => this.#parse(chunk));
    sock.on("drain", () => { for (const d of this.#drain.splice(0)) d(); });
    sock.on("close", () => {
      this.#closed = true;
      for (const d of this.#drain.splice(0)) d();
    });
  }

  /** open connects to 127.0.0.1:port, sends CONNECT and waits for the first PONG. */
  static async open(port: number, name = "bench"): Promise<RawConn> {
    const sock = await new Promise<Socket>((res, rej) => {
      const s = tcpConnect({ host: "127.0.0.1", port }, () => res(s));
      s.once("error", rej);
    });
    const conn = new RawConn(sock);
    sock.on("error", (e) => conn.errors.push(e.message));
    const opts = { verbose: false, pedantic: false, echo: false, headers: false, no_responders: false, name, lang: "raw", version: "0" };
    await conn.write(Buffer.from(`CONNECT ${JSON.stringify(opts)}\r\n`));
    await conn.flush();
    return conn;
  }

  /** closed tells whether the server ended the connection (e.g. a slow consumer). */
  get closed(): boolean { return this.#closed; }

  /** write sends bytes and waits only when the socket's buffer is full. */
  async write(buf: Uint8Array): Promise<void> {
    if (this.#closed) throw new Error(`connection closed${this.errors.length ? `: ${this.errors.join("; ")}` : ""}`);
    if (!this.#sock.write(buf)) await new Promise<void>((r) => this.#drain.push(r));
  }

  /** flush sends PING and resolves at the PONG: everything written before has been processed. */
  async flush(): Promise<void> {
    const pong = new Promise<void>((r) => this.#pongs.push(r));
    await this.write(Buffer.from("PING\r\n"));
    await pong;
  }

  /** close ends the connection. */
  close(): void {
    this.#sock.destroy();
  }

  #parse(chunk: Buffer): void {
    let i = 0;
    if (this.#rest) {
      i = this.#completeRest(chunk);
      if (i < 0) return;
    }
    const stop = this.#scan(chunk, i);
    if (stop < chunk.length) this.#rest = chunk.subarray(stop);
  }

  /**
   * completeRest finishes the frame split across the previous chunk and this
   * one by copying only that frame's bytes (never the whole chunk), and
   * returns where the next frame starts in chunk, or -1 when it is still incomplete.
   */
  #completeRest(chunk: Buffer): number {
    const rest = this.#rest!;
    this.#rest = null;
    const head = Buffer.concat([rest, chunk.subarray(0, 1024)]);
    const cr = head.indexOf(CR);
    if (cr < 0 || cr + 1 >= head.length) {
      if (chunk.length <= 1024) {
        this.#rest = head;
        return -1;
      }
      throw new Error(`protocol line longer than 1 KiB: ${head.toString("utf8", 0, 80)}`);
    }
    const end = head[0] === 77 /* M */ ? cr + 2 + sizeBefore(head, cr) + 2 : cr + 2;
    const fromChunk = end - rest.length;
    if (fromChunk > chunk.length) {
      this.#rest = Buffer.concat([rest, chunk]);
      return -1;
    }
    const frame = end <= head.length ? head.subarray(0, end) : Buffer.concat([rest, chunk.subarray(0, fromChunk)]);
    this.#scan(frame, 0);
    return fromChunk;
  }

  /** scan handles every complete frame from i on and returns where the first incomplete one starts. */
  #scan(buf: Buffer, i: number): number {
    const n = buf.length;
    while (i < n) {
      const c = buf[i]!;
      const cr = buf.indexOf(CR, i);
      if (cr < 0 || cr + 1 >= n) break;
      if (c === 77 /* M */) {
        const size = sizeBefore(buf, cr);
        const end = cr + 2 + size + 2;
        if (end > n) break;
        this.onMsg(buf, cr + 2, size);
        i = end;
        continue;
      }
      if (c === 80 /* P */) {
        if (buf[i + 1] === 73 /* I: PING */) this.#sock.write("PONG\r\n");
        else this.#pongs.shift()?.();
      } else if (c === 45 /* - */) {
        this.errors.push(buf.toString("utf8", i, cr));
      } else if (c !== 73 /* INFO */ && c !== 43 /* +OK */) {
        throw new Error(`unexpected protocol line: ${buf.toString("utf8", i, Math.min(cr, i + 80))}`);
      }
      i = cr + 2;
    }
    return i;
  }
}

/** sizeBefore reads the decimal payload size that ends a MSG header line at cr. */
function sizeBefore(buf: Buffer, cr: number): number {
  let j = cr - 1;
  let size = 0;
  let mul = 1;
  while (buf[j] !== SPACE) {
    size += (buf[j]! - 48) * mul;
    mul *= 10;
    j--;
  }
  return size;
}

/** pubFrames pre-encodes `count` PUB frames of one subject (and optional reply) with a zero-filled payload. */
export function pubFrames(subject: string, size: number, count: number, reply?: string): { chunk: Buffer; frameLen: number } {
  const frame = Buffer.concat([Buffer.from(`PUB ${subject} ${reply ? `${reply} ` : ""}${size}\r\n`), Buffer.alloc(size, 120), Buffer.from("\r\n")]);
  const chunk = Buffer.alloc(frame.length * count);
  for (let k = 0; k < count; k++) frame.copy(chunk, k * frame.length);
  return { chunk, frameLen: frame.length };
}
