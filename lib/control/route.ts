/**
 * route.ts is the contract of the control channel's route groups (see
 * routes.ts for how to add one): what a group is given by the node, and the
 * one shape of an answer.
 */
import type { Hono } from "hono";
import type { ClusterStatus } from "../cluster/status.ts";
import type { UnibusConfig } from "../config/load.ts";
import type { Logger } from "../log.ts";
import type { ReloadOutcome } from "../reload-outcome.ts";
import type { AccessLedger } from "../access/ledger.ts";
import type { SystemCredential } from "../natsd/system-credential.ts";
import type { CaAuthority } from "../membership/ca-authority.ts";
import type { BackupProgress } from "../backup/take.ts";
import type { EdgeRegistry } from "../membership/edges.ts";
import { ConfigError, RefusedError, RuntimeError, UsageError, describeError } from "../errors.ts";

/** BackupAnswer is what the node reports of a backup it took. */
export interface BackupAnswer {
  file: string;
  bytes: number;
  durationMs: number;
  streams: number;
  kv: number;
  objects: number;
  files: number;
  notes: string[];
}

/** BackupControl is the node's side: take one now, and the progress of the one under way. */
export interface BackupControl {
  take(): Promise<BackupAnswer>;
  progress(): BackupProgress | undefined;
}

/** EdgeAccess is what the edges group needs of a hub node: its registry of enrolled edges, and telling it the registry changed (it re-renders its sign-ins). */
export interface EdgeAccess { registry: EdgeRegistry; changed(): void }

/** UserAccess is what the users group needs of the node: its copy of the cluster's users and its system-account credential. */
export interface UserAccess { ledger: AccessLedger; credential: SystemCredential }

/**
 * ControlContext is what the running node offers its control routes. A
 * group that needs more of the node adds a field here and its value in
 * lib/node.ts (#controlContext): the routes never hold the node itself, so
 * the node's import of the server makes no circle. The types of those
 * fields are declared in this file too (UserAccess, BackupControl), never
 * in a group's module: route.ts imports no group.
 */
export interface ControlContext {
  /** The effective config the node runs. */
  config(): UnibusConfig;
  log: Logger;
  /** The node's current status from its one health engine (the assessment systemd's Status= line and the page read), from a snapshot at most maxAgeMs old (lib/diagnosis/engine.ts). */
  status(maxAgeMs?: number): Promise<ClusterStatus>;
  /** Re-reads the config file and applies it, exactly as SIGHUP does; resolves with the outcome of a reload that started after the call. */
  reload(): Promise<ReloadOutcome>;
  /** The node's copy of the cluster's users and its system-account credential (lib/control/users.ts); undefined off a cluster. */
  access?(): UserAccess | undefined;
  /** A CA holder's CA authority (which CA signs, the rotation's phase); undefined without [tls] ca_key. */
  ca?(): CaAuthority | undefined;
  /** Taking a backup now, and its progress (lib/control/backup.ts); undefined until the node started its backups. */
  backup?(): BackupControl | undefined;
  /** A hub node's enrolled edges (lib/control/edges.ts); undefined off a cluster. */
  edges?(): EdgeAccess | undefined;
}

/**
 * ControlRoutes is one route group: a module in lib/control/ exporting one
 * of these (and, beside it, the typed client functions the CLI calls), listed
 * once in CONTROL_ROUTES.
 */
export interface ControlRoutes {
  /** The group's name and path prefix: "reload" serves /reload and /reload/…. */
  group: string;
  /** mount adds the group's handlers to the app, under /<group>. */
  mount(app: Hono, ctx: ControlContext): void;
}

/**
 * ControlError is the body of every refusal: 4xx when the request was wrong,
 * 5xx when the node failed. `kind` carries the error class, so the CLI
 * exits with the code it would have had doing the work itself.
 */
export interface ControlError { error: string; kind?: "usage" | "refused" | "config" | "runtime" }

/** refusal turns an error thrown by a route's work into its HTTP status and body (400 usage, 409 refused by the cluster's state or config, 500 otherwise). */
export function refusal(err: unknown, redact: (text: string) => string): { status: 400 | 409 | 500; body: ControlError } {
  const error = redact(describeError(err));
  if (err instanceof UsageError) return { status: 400, body: { error, kind: "usage" } };
  if (err instanceof RefusedError) return { status: 409, body: { error, kind: "refused" } };
  if (err instanceof ConfigError) return { status: 409, body: { error, kind: "config" } };
  return { status: 500, body: { error, kind: "runtime" } };
}

/** raise throws a refusal on the CLI's side as the error class the node had. */
export function raise(body: ControlError): never {
  if (body.kind === "usage") throw new UsageError(body.error);
  if (body.kind === "refused") throw new RefusedError(body.error);
  if (body.kind === "config") throw new ConfigError(body.error);
  throw new RuntimeError(body.error);
}
