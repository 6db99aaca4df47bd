/**
 * client.ts is the CLI's side of the control channel: one typed request to
 * the running node's unix socket. "Not reachable" is an answer, not an
 * error: the node is down (or older than the channel), and the caller falls
 * back to the files a stopped node leaves.
 */
import { dataDirLayout } from "../data-dir.ts";
import { RuntimeError } from "../errors.ts";
import { fetchUnix } from "../runtime-http.ts";
import type { ControlError } from "./route.ts";

/** ControlAnswer is a reached node's answer (HTTP status and JSON body), or why the node was not reached. */
export type ControlAnswer<T> =
  | { reached: true; status: number; body: T | ControlError }
  | { reached: false; why: "absent" | "refused" | "denied" | "timeout"; detail: string };

/** CONTROL_TIMEOUT_MS bounds one request unless the caller says otherwise (a reload can take a minute). */
export const CONTROL_TIMEOUT_MS = 30_000;

/**
 * controlRequest sends one request to the node whose data dir is `dataDir`;
 * `path` is the route ("/status"), `body` is sent as JSON. It never throws for
 * a node that is not there; a node that answers garbage is a RuntimeError.
 */
export async function controlRequest<T>(dataDir: string, method: "GET" | "POST" | "DELETE", path: string, body?: unknown, timeoutMs = CONTROL_TIMEOUT_MS): Promise<ControlAnswer<T>> {
  const socket = dataDirLayout(dataDir).controlSocket;
  let response: Response;
  try {
    response = await fetchUnix(socket, path, {
      method,
      timeoutMs,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { name?: string };
    const text = `${e.code ?? ""} ${e.message ?? ""}`;
    if (e.name === "TimeoutError" || /timed? ?out/i.test(text)) return { reached: false, why: "timeout", detail: `the node did not answer on ${socket} within ${timeoutMs} ms` };
    if (/EACCES|EPERM|permission/i.test(text)) return { reached: false, why: "denied", detail: `cannot open ${socket}: permission denied (run it as the service user or root)` };
    if (/ENOENT|FailedToOpenSocket|no such file/i.test(text)) return { reached: false, why: "absent", detail: `no control socket at ${socket}` };
    return { reached: false, why: "refused", detail: `${socket}: ${e.code ?? e.message}` };
  }
  try {
    return { reached: true, status: response.status, body: (await response.json()) as T | ControlError };
  } catch (err) {
    throw new RuntimeError(`the node's answer on ${socket} to ${method} ${path} is not JSON (HTTP ${response.status}): ${(err as Error).message}`);
  }
}

/** isControlError tells a refusal from an answer. */
export function isControlError(body: unknown): body is ControlError {
  return typeof body === "object" && body !== null && typeof (body as ControlError).error === "string";
}
