/**
 * _edge-sign-in.ts is how edges sign in to a hub so that edge users can
 * change on a SIGHUP without dropping the other edges. nats-server cannot
 * reload its `leafnodes { authorization }` block (reload.go refuses any change
 * to its users or secret), but it reloads the main users table live, and a
 * user there can be limited to leaf-node connections
 * (`allowed_connection_types: ["LEAFNODE"]`). So a hub's edge users (or its
 * shared leaf secret, as user "leaf") are rendered into the main table for
 * leaf connections only, and client users into it for client connections
 * only, which keeps who may connect as what exactly as before. A hub whose
 * clients are anonymous gets an explicit no-auth user for client
 * connections (nats's own one only exists without an authorization block).
 *
 * An edge's secret reaches nats-server as it is, in the 0600 config (as the
 * route secret does), unless it was given as password_hash. Edge secrets are
 * machine-made, so a slow hash protects nothing a 0600 file does not; and a
 * bcrypt hash costs at every start (one per edge) and at every leaf connect
 * (a fleet failing over onto one hub node pays one per edge at once).
 */
import { DEFAULTS } from "./defaults.ts";
import type { UnibusConfig } from "./config-types.ts";

/**
 * ANONYMOUS_NKEY is the identity anonymous clients are bound to on a hub
 * with edge users (nats's no_auth_user). An nkey, because nats hands a
 * no-auth user's stored password back to its own check, which fails for a
 * bcrypt hash; and a constant one, because nats cannot change no_auth_user
 * on reload. Its seed was thrown away: nobody can sign as it, and claiming
 * it without a signature only gets what connecting anonymously gets.
 */
export const ANONYMOUS_NKEY = "UCTPHVCLUX2GXJVLGAQFLZVDCQNMWTXCFQDSVRULKMIG5JLJR733XQOZ";

/** CLIENT_CONNECTIONS are the connection kinds client users may use: everything but leaf nodes. */
export const CLIENT_CONNECTIONS = ["STANDARD", "WEBSOCKET", "MQTT"] as const;

/** EdgeSignIn is one user name and secret an edge signs in to this hub with. */
export interface EdgeSignIn { user: string; secret: string }

/** edgeSignIns lists the users edges sign in with on this hub; empty when not a hub or its leaf port is open. */
export function edgeSignIns(config: UnibusConfig): EdgeSignIn[] {
  const leaf = config.leafnodes;
  if (!leaf?.listen) return [];
  if (leaf.secret) return [{ user: DEFAULTS.leafUser, secret: leaf.secret.value ?? "" }];
  return leaf.users.map((u) => ({ user: u.user, secret: u.password.value ?? "" }));
}

/** hasEdgeTable tells whether edges sign in through the users table: edge users, a leaf secret, or enrolled edges (even none yet: the leaf port must not be open meanwhile). */
export function hasEdgeTable(config: UnibusConfig): boolean {
  return edgeSignIns(config).length > 0 || Boolean(config.leafnodes?.listen && config.leafnodes.enroll);
}

/**
 * edgeUsersTable is what the edge sign-ins add to nats-server's main users
 * table, and the fields client users get beside them; undefined when this
 * node has no edge users (then nothing changes).
 */
export function edgeUsersTable(config: UnibusConfig, clientsSignIn: boolean): { users: Record<string, unknown>[]; clientRestriction: Record<string, unknown>; noAuthUser?: string } | undefined {
  if (!hasEdgeTable(config)) return undefined;
  const edges = edgeSignIns(config);
  const clientRestriction = { allowed_connection_types: [...CLIENT_CONNECTIONS] };
  const users: Record<string, unknown>[] = edges.map((e) => ({ user: e.user, password: e.secret, allowed_connection_types: ["LEAFNODE"] }));
  // Enrolled edges sign in with their own nkey; the hub holds only the public half.
  if (config.leafnodes?.listen && config.leafnodes.enroll) {
    for (const e of config.leafnodes.enrolled) users.push({ nkey: e.nkey, allowed_connection_types: ["LEAFNODE"] });
  }
  if (clientsSignIn) return { users, clientRestriction };
  users.push({ nkey: ANONYMOUS_NKEY, ...clientRestriction });
  return { users, clientRestriction, noAuthUser: ANONYMOUS_NKEY };
}
