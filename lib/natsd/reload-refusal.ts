/**
 * reload-refusal.ts turns nats-server's refusal of a config reload into the
 * node.toml key it is about and that a restart applies it. nats-server
 * names the Go option it cannot change and prints old and new values as Go
 * would (`config reload not supported for LeafNode: field "Users":
 * old=[0x21cf…], new=[…]`): pointers, structs, sometimes secrets. None of
 * that reaches the operator.
 */

/** FIELD_KEYS maps nats-server's option names (and its own phrases) to node.toml keys. */
const FIELD_KEYS: [RegExp, string][] = [
  [/LeafNode: field "Users"/i, "leafnodes.users (an edge's user added, removed or changed)"],
  [/LeafNode: field "(Username|Password)"/i, "leafnodes.secret_file / secret_env (the shared leaf secret)"],
  [/LeafNode: field "(Host|Port)"/i, "leafnodes.listen"],
  [/LeafNode/i, "[leafnodes] (the hub side: listen, secret or users)"],
  [/\b(Websocket)\b/i, "[websocket] (listen or no_tls)"],
  [/\bMQTT\b/, "[mqtt] (listen or no_tls)"],
  [/cluster (host|port)/i, "cluster.listen"],
  [/\bCluster\b/, "[cluster]"],
  [/jetstream storage dir/i, "node.data_dir"],
  [/jetstream (dynamic )?max memory|decreasing jetstream max memory|jetstream max memory and max store/i, "jetstream.max_memory / jetstream.max_file (they may grow live, not shrink)"],
  [/\bSync(Interval|Always)\b/i, "jetstream.sync"],
  [/\bMaxPending\b/, "limits.max_pending"],
  [/\b(Host|Port)\b/, "client.listen"],
  [/\bHTTP(Host|Port)\b/i, "monitor.listen"],
  [/\bServerName\b/, "node.name"],
  [/\bNoAuthUser\b/i, "[[client.users]] / [[client.nkeys]] (going from anonymous clients to signed-in ones, or back)"],
  [/\bSystemAccount\b/i, "[system_account]"],
];

/** isReloadRefusal tells whether a nats-server message is a refused reload. */
export function isReloadRefusal(message: string): boolean {
  return /reload not supported|Failed to reload|Error reloading/i.test(message);
}

/**
 * explainReloadRefusal says in plain words which setting nats-server could
 * not change while running; a message it does not recognise is returned
 * without the Go values (old=…, new=…).
 */
export function explainReloadRefusal(message: string): string {
  if (!isReloadRefusal(message)) return message;
  const hit = FIELD_KEYS.find(([re]) => re.test(message));
  if (hit) return `${hit[1]} cannot change while running; restart unibus to apply it (the running node keeps the previous setting)`;
  const cut = message.replace(/:?\s*old=[\s\S]*$/, "").trim();
  return `${cut}: this setting cannot change while running; restart unibus to apply it`;
}
