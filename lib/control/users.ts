/**
 * users.ts is the control channel's users group: the running node changes
 * and lists the cluster's client users (lib/access/) for `unibus user`, with
 * its own system-account credential and its own copy, so the command needs
 * neither. POST /users/change takes one change (a password arrives as its
 * bcrypt hash, made by the command: the password never reaches the node);
 * GET /users lists the users without their hashes, the file's users of this
 * box, and which members hold the same copy.
 */
import { clusterAccess, usesClusterAccess } from "../access/client-users.ts";
import { changeClusterUsers, memberCount, pingReplicas, type ChangeOutcome } from "../access/change.ts";
import type { AccessEntry, AccessLedger, AccessRule, ConnectionType } from "../access/ledger.ts";
import type { UnibusConfig } from "../config/load.ts";
import { ConfigError, RefusedError, UsageError } from "../errors.ts";
import { SystemClient } from "../natsd/system-client.ts";
import { controlRequest, isControlError, type ControlAnswer } from "./client.ts";
import { raise, type ControlRoutes } from "./route.ts";

export type { UserAccess } from "./route.ts";

/**
 * UserChange is one change: add (refused for an existing user unless
 * replace), passwd (keeps key kind and permissions), remove. A password
 * travels as passwordHash only.
 */
export interface UserChange {
  op: "add" | "passwd" | "remove";
  name: string;
  replace?: boolean;
  kind?: "password" | "nkey";
  passwordHash?: string;
  publicKey?: string;
  publish?: AccessRule;
  subscribe?: AccessRule;
  connections?: ConnectionType[];
}

/** UserView is a cluster user as `unibus user list` shows it: never its hash. */
export interface UserView { name: string; kind: "password" | "nkey"; publicKey?: string; publish?: AccessRule; subscribe?: AccessRule; connections?: ConnectionType[]; changedAt: string; by: string; shadowedByFile?: boolean }

/** UserList is GET /users's answer. */
export interface UserList {
  users: UserView[];
  fileUsers: string[];
  fileNkeys: string[];
  /** Every member that answered, and whether its copy is this member's. */
  members: { node: string; inStep: boolean }[];
  size: number;
  /** False when this box lets anonymous clients in (allow_anonymous) and so does not apply the cluster's users. */
  applied: boolean;
  file: string;
}

function clusterConfig(config: UnibusConfig): void {
  if (!config.cluster || !config.tls) throw new ConfigError(`${config.file} has no [cluster] and [tls]: the cluster's users need a cluster; on a single node use [[client.users]] (unibus passwd) or [[client.nkeys]]`);
}

function noSuchUser(config: UnibusConfig, name: string): string {
  if (config.client.users.some((u) => u.user === name)) return `"${name}" is not a cluster user: it is written in ${config.file} ([[client.users]]) and applies to this box only; edit that file and run sudo unibus reload`;
  return `there is no cluster user "${name}" (unibus user list shows them)`;
}

/** entryFor turns a change into the entry every member stores, checking it against this member's copy. */
function entryFor(config: UnibusConfig, ledger: AccessLedger, req: UserChange): (at: number) => AccessEntry {
  const by = config.node.name;
  const have = ledger.get(req.name);
  const live = have && !have.removed ? have : undefined;
  if (req.op === "remove") {
    if (!live) throw new RefusedError(noSuchUser(config, req.name));
    return (at) => ({ name: req.name, kind: live.kind, removed: true, at, by });
  }
  if (req.op === "passwd") {
    if (!live) throw new RefusedError(noSuchUser(config, req.name));
    if (live.kind !== "password") throw new RefusedError(`cluster user "${req.name}" signs in with an nkey, not a password; give it a new key with: unibus user add ${req.name} --replace --nkey KEY`);
    if (typeof req.passwordHash !== "string") throw new UsageError("expected passwordHash");
    return (at) => ({ ...live, passwordHash: req.passwordHash!, at, by });
  }
  if (live && !req.replace) throw new RefusedError(`cluster user "${req.name}" already exists (${live.kind}); change its password with: unibus user passwd ${req.name}; replace it (password, key and permissions) with: unibus user add ${req.name} --replace …`);
  const limits = { ...(req.publish ? { publish: req.publish } : {}), ...(req.subscribe ? { subscribe: req.subscribe } : {}), ...(req.connections ? { connections: req.connections } : {}) };
  if (req.kind === "nkey") return (at) => ({ name: req.name, kind: "nkey", publicKey: req.publicKey!, ...limits, at, by });
  return (at) => ({ name: req.name, kind: "password", passwordHash: req.passwordHash!, ...limits, at, by });
}

/** usersRoutes serves GET /users and POST /users/change. */
export const usersRoutes: ControlRoutes = {
  group: "users",
  mount(app, ctx) {
    app.post("/users/change", async (c) => {
      const req = (await c.req.json().catch(() => ({}))) as UserChange;
      const config = ctx.config();
      clusterConfig(config);
      const access = ctx.access?.();
      if (!access) throw new ConfigError("this node keeps no copy of the cluster's users (it is no cluster member)");
      if (typeof req.name !== "string" || !["add", "passwd", "remove"].includes(req.op)) throw new UsageError('expected a JSON body {"op": "add"|"passwd"|"remove", "name": …}');
      const make = entryFor(config, access.ledger, req);
      const outcome = await changeClusterUsers(config, access.credential, make, `${req.op} ${req.name}`);
      ctx.log.info("changed the cluster's users", { op: req.op, user: req.name, members: outcome.took.join(",") });
      return c.json(outcome);
    });
    app.get("/users", async (c) => {
      const config = ctx.config();
      clusterConfig(config);
      const access = ctx.access?.();
      if (!access) throw new ConfigError("this node keeps no copy of the cluster's users (it is no cluster member)");
      const entries = access.ledger.active();
      const shadowed = new Set(clusterAccess(config, entries).shadowed);
      const size = memberCount(config);
      const mine = access.ledger.digest();
      let members: { node: string; inStep: boolean }[] = [];
      try {
        await using sys = await SystemClient.connect(config, { credential: access.credential, name: "unibus-user" });
        members = (await pingReplicas(sys, size)).map((p) => ({ node: p.node, inStep: p.digest === mine }));
      } catch {
        // the list is this member's copy; members stays empty
      }
      const list: UserList = {
        users: entries.map((u) => ({
          name: u.name, kind: u.kind, ...(u.publicKey ? { publicKey: u.publicKey } : {}), ...(u.publish ? { publish: u.publish } : {}), ...(u.subscribe ? { subscribe: u.subscribe } : {}),
          ...(u.connections ? { connections: u.connections } : {}), changedAt: new Date(u.at).toISOString(), by: u.by, ...(shadowed.has(u.name) ? { shadowedByFile: true } : {}),
        })),
        fileUsers: config.client.users.map((u) => u.user),
        fileNkeys: config.client.nkeys.map((n) => n.publicKey),
        members,
        size,
        applied: usesClusterAccess(config),
        file: config.file,
      };
      return c.json(list);
    });
  },
};

type Unreached = Extract<ControlAnswer<never>, { reached: false }>;

/** requestUserChange asks the running node to make one change; refusals are rethrown as the node's error class. */
export async function requestUserChange(dataDir: string, req: UserChange): Promise<{ reached: true; outcome: ChangeOutcome } | Unreached> {
  const answer = await controlRequest<ChangeOutcome>(dataDir, "POST", "/users/change", req, 60_000);
  if (!answer.reached) return answer;
  if (isControlError(answer.body)) raise(answer.body);
  return { reached: true, outcome: answer.body };
}

/** requestUserList asks the running node for the cluster's users. */
export async function requestUserList(dataDir: string): Promise<{ reached: true; list: UserList } | Unreached> {
  const answer = await controlRequest<UserList>(dataDir, "GET", "/users");
  if (!answer.reached) return answer;
  if (isControlError(answer.body)) raise(answer.body);
  return { reached: true, list: answer.body };
}
