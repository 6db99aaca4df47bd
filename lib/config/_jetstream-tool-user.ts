/**
 * _jetstream-tool-user.ts is the users-table entry of unibus's own backup
 * and restore in the clients' account (the key lives in the data dir:
 * lib/natsd/jetstream-credential.ts).
 */

/**
 * jetstreamToolUser is the users-table entry for the key: plain NATS
 * connections only, publishing to the JetStream API (its own and, on a hub,
 * its edges' domains: `$JS.<domain>.API`, for store and forward) and the
 * snapshot chunk/ack subjects, subscribing to its inboxes; and an edge's
 * verdict report (lib/fleet/edge-report.ts), published on the edge and
 * heard on the hub.
 */
export function jetstreamToolUser(publicKey: string): Record<string, unknown> {
  return {
    nkey: publicKey,
    allowed_connection_types: ["STANDARD"],
    permissions: { publish: { allow: ["$JS.API.>", "$JS.*.API.>", "$JS.SNAPSHOT.>", "_UNIBUS.EDGE.VERDICT.*"] }, subscribe: { allow: ["_INBOX.>", "_UNIBUS.EDGE.VERDICT.*"] } },
  };
}
