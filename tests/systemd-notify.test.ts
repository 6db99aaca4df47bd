/**
 * sd_notify over a real unix datagram socket: a python3 listener stands in for
 * systemd, because neither Node nor Bun can bind an AF_UNIX datagram socket.
 */
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { sendUnixDatagram, unixSockaddr } from "../lib/runtime-datagram.ts";
import { notifyStatus, notifySystemd } from "../lib/systemd/notify.ts";
import { tempDir } from "./_helpers.ts";

const CI = process.env.CI === "true";
const missing = Bun.which("python3") ? undefined : "python3 (the datagram listener) is not installed";
if (missing && !CI) console.log(`skipping sd_notify socket tests: ${missing}`);
const it = missing && !CI ? test.skip : test;

const LISTENER = `
import json, socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0" + addr[1:] if addr.startswith("@") else addr)
print("bound", flush=True)
while True:
    print(json.dumps(s.recv(65536).decode()), flush=True)
`;

/** listen starts the listener and returns the datagrams it receives, one per line. */
async function listen(address: string) {
  const proc = Bun.spawn(["python3", "-c", LISTENER, address], { stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const nextLine = async (timeoutMs = 5_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    while (!buffered.includes("\n")) {
      const chunk = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => null)]);
      if (chunk === null) throw new Error(`no datagram within ${timeoutMs} ms`);
      if (chunk.done) throw new Error("listener exited");
      buffered += chunk.value;
    }
    const at = buffered.indexOf("\n");
    const line = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    return line;
  };
  expect(await nextLine()).toBe("bound");
  cleanups.push(() => proc.kill());
  return { next: async () => JSON.parse(await nextLine()) as string };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function notifyDir(): string {
  const dir = tempDir("unibus-notify-");
  cleanups.push(() => dir[Symbol.dispose]());
  return dir.path;
}

it("sendUnixDatagram delivers READY=1 to a socket bound to a path", async () => {
  if (missing) throw new Error(`missing prerequisite: ${missing}`);
  const path = join(notifyDir(), "notify.sock");
  const listener = await listen(path);
  expect(sendUnixDatagram(path, "READY=1")).toBe(true);
  expect(await listener.next()).toBe("READY=1");
});

it("sendUnixDatagram delivers READY=1 to an abstract socket named with @", async () => {
  if (missing) throw new Error(`missing prerequisite: ${missing}`);
  const address = `@unibus-test-${process.pid}-${crypto.randomUUID()}`;
  const listener = await listen(address);
  expect(sendUnixDatagram(address, "READY=1")).toBe(true);
  expect(await listener.next()).toBe("READY=1");
});

it("notifySystemd sends multi-line states to $NOTIFY_SOCKET in one datagram", async () => {
  if (missing) throw new Error(`missing prerequisite: ${missing}`);
  const address = `@unibus-test-${process.pid}-${crypto.randomUUID()}`;
  const listener = await listen(address);
  const state = `READY=1\n${notifyStatus("serving\nclients on 127.0.0.1:4222")}`;
  expect(notifySystemd(state, { NOTIFY_SOCKET: address })).toBe(true);
  expect(await listener.next()).toBe("READY=1\nSTATUS=serving clients on 127.0.0.1:4222");
  expect(notifySystemd("STOPPING=1", { NOTIFY_SOCKET: address })).toBe(true);
  expect(await listener.next()).toBe("STOPPING=1");
});

test("notifySystemd does nothing when NOTIFY_SOCKET is unset or not a unix socket", () => {
  expect(notifySystemd("READY=1", {})).toBe(false);
  expect(notifySystemd("READY=1", { NOTIFY_SOCKET: "" })).toBe(false);
  expect(notifySystemd("READY=1", { NOTIFY_SOCKET: "vsock:2:1234" })).toBe(false);
});

test("sendUnixDatagram reports failure instead of throwing", () => {
  const dir = notifyDir();
  expect(sendUnixDatagram(join(dir, "nobody-listens.sock"), "READY=1")).toBe(false);
  expect(sendUnixDatagram(`@unibus-nobody-${crypto.randomUUID()}`, "READY=1")).toBe(false);
  expect(sendUnixDatagram("/" + "x".repeat(200), "READY=1")).toBe(false);
  expect(sendUnixDatagram("@", "READY=1")).toBe(false);
});

test("unixSockaddr encodes path and abstract addresses with their exact lengths", () => {
  const path = unixSockaddr("/run/systemd/notify")!;
  expect(path.len).toBe(2 + "/run/systemd/notify".length + 1);
  expect(new DataView(path.addr.buffer).getUint16(0, true)).toBe(1);
  expect(new TextDecoder().decode(path.addr.subarray(2, path.len - 1))).toBe("/run/systemd/notify");
  expect(path.addr[path.len - 1]).toBe(0);
  const abstract = unixSockaddr("@sd-notify")!;
  expect(abstract.len).toBe(2 + 1 + "sd-notify".length);
  expect(abstract.addr[2]).toBe(0);
  expect(new TextDecoder().decode(abstract.addr.subarray(3, abstract.len))).toBe("sd-notify");
  expect(unixSockaddr("/" + "x".repeat(106))).toBeDefined();
  expect(unixSockaddr("/" + "x".repeat(107))).toBeUndefined();
});
