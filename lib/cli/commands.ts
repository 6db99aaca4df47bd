/**
 * commands.ts is the one table of unibus commands: name, synopsis, summary,
 * flag details and the module that runs it. `unibus help`, each command's
 * `--help` and the usage appended to a usage error all come from here, so a
 * command cannot be listed without its help. Each entry loads its module on
 * demand, so `unibus --version` does not pay for the admin page or the PKI.
 */
import { BCRYPT_COST } from "../auth/bcrypt.ts";
import { DEFAULTS } from "../config/defaults.ts";
import { NODE_NAME_HINT } from "../config/units.ts";

/** Command is what every lib/cli module exports: run with the remaining argv, return an exit code. */
export interface Command {
  run(args: string[]): Promise<number>;
}

/** CommandSpec is one row of the command table. */
export interface CommandSpec {
  /** Words after `unibus`, joined by a space ("cert issue"). */
  name: string;
  /** Arguments and flags, as printed after the name. */
  synopsis: string;
  /** One line saying what the command does. */
  summary: string;
  /** Flag explanations and examples for `--help`, each line indented. */
  details?: string;
  load: () => Promise<Command>;
}

/** COMMAND_TABLE lists every command in the order `unibus help` prints them. */
export const COMMAND_TABLE: readonly CommandSpec[] = [
  {
    name: "run",
    synopsis: "--config FILE [--log-format text|json|auto] [--log-level LEVEL]",
    summary: "run the node (nats-server with JetStream, supervised); `unibus --config FILE` is the same",
    details: `  --config FILE      node.toml (default /etc/unibus/unibus.toml when it exists)
  --log-format F     text, json or auto (default: [log] format)
  --log-level L      debug, info, warn or error (default: [log] level)
signals: SIGHUP reloads the file, SIGTERM/SIGINT stop gracefully, a second SIGINT forces exit (130)
`,
    load: () => import("./run.ts"),
  },
  {
    name: "config check",
    synopsis: "--config FILE",
    summary: "validate the config, warn about what will fail at run time, print who may connect and the effective config, secrets redacted",
    details: "warnings (stderr): a clustered node named after its host, a bcrypt hash where a secret is sent, a leaf uplink without ca_file, max_file larger than the disk, a 2-node cluster, many passwords hashed at every start (give password_hash)\nexit status: 0 valid (warnings included), 2 invalid (every problem named as file:line:column: key: expected …)\n",
    load: () => import("./config-check.ts"),
  },
  {
    name: "status",
    synopsis: "--config FILE [--json]",
    summary: "one verdict line, then every problem with its node, cause and fix; exit 0 healthy, 3 degraded, 4 broken",
    details: `  says whether the node running with FILE is healthy and, when it is not,
  what is wrong, on which node, and how to fix it (routes, JetStream meta
  group, leaf uplinks, certificate and CA fingerprint, disk)
  --json   print the status as JSON (the same diagnosis the admin page serves)
exit status: 0 healthy, 3 degraded (the bus works, something needs attention), 4 broken, 2 the config is invalid
  (the error first, then the running node's health judged with the config it last applied), 77 the config
  cannot be read (permission denied: run it with sudo)
`,
    load: () => import("./status.ts"),
  },
  {
    name: "reload",
    synopsis: "[--config FILE] [--pid PID] [--timeout SECONDS]",
    summary: "make the running node re-read its config and wait; exit 1 with the reason when it refused the change",
    details: `  --config FILE    the running node's config (default /etc/unibus/unibus.toml)
  --pid PID        the unibus process (default: the one holding the config's data dir); systemd passes $MAINPID
  --timeout N      seconds to wait for the outcome (default 60)
exit status: 0 applied, 1 refused (the node keeps running the previous config) or no answer, 2 the file is invalid
`,
    load: () => import("./reload.ts"),
  },
  {
    name: "context",
    synopsis: "[--config FILE] [--user NAME] [--out FILE]",
    summary: "print a nats CLI context (URL, CA, credentials) for the node's system account",
    details: `  --config FILE   the node's config (default /etc/unibus/unibus.toml)
  --user NAME     an operator of [[system_account.users]] (default: the node's own nkey,
                  <data_dir>/system-account.nk, readable by the service user only)
  --out FILE      write the JSON there (mode 0600) instead of printing it
examples:
  unibus context --user ops --out ~/.config/nats/context/pi-1.json && nats --context pi-1 server ping
  sudo unibus context > /root/.config/nats/context/pi-1.json    # the node's own key: root or the service user
`,
    load: () => import("./context.ts"),
  },
  {
    name: "unit",
    synopsis: "[--config FILE]",
    summary: "print the systemd unit for this config (install.sh installs what it prints)",
    details: `  --config FILE    the config the service will run (default /etc/unibus/unibus.toml)
  adjusts the embedded packaging/unibus.service: CAP_NET_BIND_SERVICE for a listen port below 1024,
  TimeoutStopSec= beyond [node] lame_duck_duration, ReadWritePaths= for a data_dir outside /var/lib/unibus
exit status: 0 printed, 2 the config is invalid or its data_dir is inside the config's folder
`,
    load: () => import("./unit.ts"),
  },
  {
    name: "init cluster",
    synopsis: "--name NAME --node NAME=ADDRESS[:PORT] ... --out DIR [--client-listen H:P] [--mqtt-listen H:P] [--force]",
    summary: "make a cluster: CA, route secret, one config per node",
    details: `  --name NAME      cluster name (${NODE_NAME_HINT})
  --node N=ADDR    one per box: node name and the address the other boxes reach it at
                   (IP or host name; route port default ${DEFAULTS.clusterListen.port})
  --out DIR        where to write certs/ca.pem, certs/ca-key.pem, cluster.secret and NAME.toml per node
  --client-listen H:P  the cluster's client port (default ${DEFAULTS.clientListen.text}); 0.0.0.0:4222 lets LAN clients in
                   on every member, boxes that join included, signing in as the cluster's users (unibus user add)
  --mqtt-listen H:P    an MQTT listener on every member (e.g. 0.0.0.0:1883); boxes that join take it over
  --force          replace files that already exist (a new CA and secret: every node must get the new files)
example:
  unibus init cluster --name homelab --node pi-1=10.0.0.11 --client-listen 0.0.0.0:4222 --out homelab/
`,
    load: () => import("./init-cluster.ts"),
  },
  {
    name: "token create",
    synopsis: "[--config FILE] [--ttl DURATION] [--edge] [--quiet]",
    summary: "on a node holding the CA key: make a join token and print the `unibus join` line for a new box",
    details: `  --config FILE    this node's config (default /etc/unibus/unibus.toml); it must hold [tls] ca_key
  --edge           print the line that enrolls an edge box (unibus join … --edge) on a hub with [leafnodes] enroll = true
  --ttl DURATION   how long the token admits boxes (default 24h; e.g. 30m, 7d is not a duration: use 168h)
  --quiet          print only the join line
the token is UB1-<sha256 of the CA certificate>-<id>-<secret>; it is kept in join-tokens.secret beside the config
`,
    load: async () => ({ run: (await import("./token.ts")).create }),
  },
  {
    name: "token list",
    synopsis: "[--config FILE] [--json]",
    summary: "list join tokens: id, valid/expired/revoked, dates (never the secrets)",
    load: async () => ({ run: (await import("./token.ts")).list }),
  },
  {
    name: "token revoke",
    synopsis: "ID [--config FILE]",
    summary: "stop a join token from admitting anyone, at once",
    load: async () => ({ run: (await import("./token.ts")).revoke }),
  },
  {
    name: "join",
    synopsis: "ADDRESS --token TOKEN [--edge] [--name NAME] [--replace] [--out DIR] [--data-dir DIR] [--listen HOST:PORT] [--advertise HOST] [--force]",
    summary: "make this box a member of a running cluster: certificate, route secret, config, in one step",
    details: `  ADDRESS          a CA holder's join port, as printed by unibus token create (e.g. 10.0.0.11:6223)
  --token TOKEN    the join token (or $UNIBUS_JOIN_TOKEN); its CA digest pins the cluster CA
  --name NAME      this node's name (default: the host name); must be new to the cluster
  --replace        take over the name of a dead member (a box whose disk is gone), keeping its place
  --out DIR        write DIR/unibus.toml, DIR/certs/, DIR/cluster.secret (default: /etc/unibus, data in /var/lib/unibus)
  --data-dir DIR   where the node's data dir will be (default /var/lib/unibus, or DIR/data with --out)
  --listen H:P     route listen address on this box (default ${DEFAULTS.clusterListen.text})
  --advertise HOST the address the other boxes reach this one at (default: the one facing the CA holder)
  --force          overwrite the files of an earlier node on this box
  --edge           enroll this box as an edge of a hub cluster (one with [leafnodes] enroll = true) instead of a
                   member: its own certificate and leaf nkey, an uplink listing every hub node; no route secret
the CA private key is never sent; this box's key is made here and never leaves it
example (or in one step with install: sudo ./install.sh --join 10.0.0.11:6223 --token UB1-...):
  sudo unibus join 10.0.0.11:6223 --token UB1-...
`,
    load: () => import("./join.ts"),
  },
  {
    name: "edge list",
    synopsis: "[--config FILE] [--json]",
    summary: "on a hub node: list the edges enrolled with `unibus join --edge` (never their keys)",
    load: async () => ({ run: (await import("./edge.ts")).list }),
  },
  {
    name: "edge remove",
    synopsis: "NAME [--config FILE]",
    summary: "on a hub node: shut one enrolled edge out (its key stops signing in on every hub node; the others keep their uplinks)",
    load: async () => ({ run: (await import("./edge.ts")).remove }),
  },
  {
    name: "remove",
    synopsis: "NAME [--config FILE] [--force]",
    summary: "take a stopped or dead member out of the cluster: JetStream meta group and members list",
    details: `  NAME           the member to remove (unibus status lists them)
  --config FILE  this node's config (default /etc/unibus/unibus.toml); run it on any member
  --force        remove a member that is still running, or the only CA holder
refuses to remove the last quorum member: the remaining servers must keep a majority
`,
    load: async () => ({ run: (await import("./remove.ts")).remove }),
  },
  {
    name: "recover",
    synopsis: "[--config FILE] [--force] [--yes]",
    summary: "on the last survivor of a lost majority: become a cluster of one with its data, writable, ready for new boxes",
    details: `  --config FILE  this node's config (default /etc/unibus/unibus.toml); unibus must be running
  --force        go on although another member may be alive (its port answers, it was heard from lately)
  --yes          do not ask (needed when stdin is not a terminal)
takes every other server out of the JetStream meta group (nats-server's meta rescue, then peer removal);
says first what is lost: writes only the dead members acknowledged, streams with no replica here.
Streams keep their replica count and get their missing replicas back as new boxes join (new names).
Refuses while the meta group has a leader (use unibus remove NAME then), a route to another member is up,
another member's route or join port answers, or another server was heard from in the last minute
`,
    load: () => import("./recover.ts"),
  },
  {
    name: "leave",
    synopsis: "[--config FILE] [--force]",
    summary: "on the box that goes: leave the JetStream meta group and the members list, then stop",
    load: async () => ({ run: (await import("./remove.ts")).leave }),
  },
  {
    name: "user add",
    synopsis: "NAME [--nkey KEY] [--publish S ...] [--subscribe S ...] [--deny-publish S ...] [--deny-subscribe S ...] [--only KINDS] [--replace] [--config FILE]",
    summary: "add a client user for the whole cluster (password on stdin, or an nkey): every member admits it within seconds, no restart",
    details: `  NAME               the user name clients sign in with (nkey users: a label)
  --nkey KEY         sign in with this public user nkey (unibus nkey gen) instead of a password
  --publish S        subjects it may publish to (repeatable; none: all for a password user, nothing for an nkey user)
  --subscribe S      subjects it may subscribe to (likewise)
  --deny-publish S, --deny-subscribe S   subjects it may not use (repeatable)
  --only KINDS       sign in only on these connection kinds: client, mqtt, websocket (e.g. --only mqtt for a device)
  --replace          replace an existing cluster user (password or key, and permissions)
  --config FILE      this member's config (default /etc/unibus/unibus.toml); run it on any member
the password is read on standard input and hashed here (bcrypt); a majority of the members must answer,
  or nothing changes. The file's [[client.users]] of a box win over a cluster user of the same name there
example: printf '%s' "$APP_PASSWORD" | sudo unibus user add app
`,
    load: async () => ({ run: (await import("./user.ts")).add }),
  },
  {
    name: "user passwd",
    synopsis: "NAME [--config FILE]",
    summary: "give a cluster user a new password (on stdin) on every member; its connections with the old one are closed",
    load: async () => ({ run: (await import("./user.ts")).passwd }),
  },
  {
    name: "user remove",
    synopsis: "NAME [--config FILE]",
    summary: "remove a cluster user on every member; its connections are closed",
    load: async () => ({ run: (await import("./user.ts")).remove }),
  },
  {
    name: "user list",
    synopsis: "[--config FILE] [--json]",
    summary: "the cluster's users (this member's copy), this box's file users, and which members are in step",
    load: async () => ({ run: (await import("./user.ts")).list }),
  },
  {
    name: "backup",
    synopsis: "[--config FILE] [--out FILE] [--passphrase-file FILE]",
    summary: "write one backup file of the running cluster: every stream, KV bucket and object store, members, config, CA certificate",
    details: `  --config FILE           this node's config (default /etc/unibus/unibus.toml); run it on any member
  --out FILE              where to write (default: [backup] dir, unibus-backup-<node>-<UTC time>-manual.tar)
  --passphrase-file FILE  also include the CA key and the route secret, encrypted with this passphrase
                          (default: [backup] passphrase_file; without one they are left out)
each stream is snapshotted by JetStream itself (consistent per stream); the file is a tar whose
manifest lists every entry's SHA-256; it is written as FILE.partial and renamed once complete
scheduled backups: [backup] every (12h) and keep (5) in node.toml
`,
    load: () => import("./backup.ts"),
  },
  {
    name: "backup inspect",
    synopsis: "FILE [--verify] [--json]",
    summary: "show what a backup file holds (streams, buckets, messages, cluster files); --verify checks every entry's SHA-256",
    load: async () => ({ run: (await import("./backup.ts")).inspect }),
  },
  {
    name: "restore",
    synopsis: "FILE [--config FILE] [--stream NAME]... [--overwrite] | FILE --extract DIR [--passphrase-file FILE]",
    summary: "put a backup's streams, KV buckets and object stores back into the running cluster, all or some; nothing half-restored",
    details: `  --config FILE     this node's config (default /etc/unibus/unibus.toml); run it on any member
  --stream NAME     restore only this stream, KV bucket or object store (by stream or bucket name); repeatable
  --overwrite       replace streams that exist (refused otherwise, naming them; nothing changes)
  --extract DIR     restore no stream: write the backup's cluster files (config, members, CA certificate;
                    with --passphrase-file also the CA key and route secret) into DIR, mode 0600
the whole file is checked against its manifest first: a damaged or cut-short file changes nothing;
when a stream fails, the streams restored so far are deleted and replaced ones put back
replicas above the cluster's size are lowered to it (and said so)
`,
    load: () => import("./restore.ts"),
  },
  {
    name: "ca create",
    synopsis: "--out DIR [--name CN] [--days N] [--force]",
    summary: "create a cluster CA (ca.pem, ca-key.pem 0600)",
    details: `  --out DIR    folder for ca.pem (0644) and ca-key.pem (0600); created if missing
  --name CN    common name of the CA (default "${DEFAULTS.caName}")
  --days N     lifetime in days (default ${DEFAULTS.caLifetimeDays}, ten years)
  --force      replace an existing CA (certificates it issued stop verifying)
`,
    load: () => import("./ca.ts"),
  },
  {
    name: "ca rotate",
    synopsis: "[--config FILE] [--finish] [--force]",
    summary: "on the CA holder: replace the cluster CA with no outage (new CA trusted beside the old, every node reissued), then --finish drops the old CA",
    details: `  --config FILE  the CA holder's config (default /etc/unibus/unibus.toml); it must hold [tls] ca_key
  --finish       drop the old CA: refused while a member still holds a certificate from it (unibus status lists them)
  --force        with --finish: drop it anyway (such a member must join again)
start: writes ca-next.pem, ca-next-key.pem, ca-next-endorsed.pem and ca-bundle.pem (old + new, for clients) beside ca.pem,
  revokes outstanding join tokens (they pin the old CA) and reloads the running node; members learn the new CA and get
  a certificate from it at their next check-in (every 5 s)
finish: ca.pem and ca-key.pem become the new CA (the old key is deleted); ca-bundle.pem holds the new CA alone
example:
  sudo unibus ca rotate && sudo unibus status && sudo unibus ca rotate --finish
`,
    load: () => import("./ca-rotate.ts"),
  },
  {
    name: "cert issue",
    synopsis: "--ca DIR --name NAME [--san S ...] [--no-host-sans] [--days N] --out DIR [--force]",
    summary: "issue a node certificate from the CA",
    details: `  --ca DIR         folder holding ca.pem and ca-key.pem (from unibus ca create)
  --name NAME      node name: the certificate's CN and first DNS SAN
  --san S          extra SAN, repeatable; IPv4/IPv6 addresses become IP SANs, anything else DNS
  --days N         lifetime in days (default ${DEFAULTS.certLifetimeDays}; never beyond the CA's own expiry)
  --out DIR        folder for node.pem (0644) and node-key.pem (0600)
  --force          replace existing node.pem / node-key.pem
  --no-host-sans   leave out this host's name and addresses (when issuing for another machine)
`,
    load: () => import("./cert-issue.ts"),
  },
  {
    name: "cert inspect",
    synopsis: "FILE [--ca CAFILE]",
    summary: "show subject, SANs, usages, issuer, days left, chain",
    details: `  FILE         PEM certificate to describe (the first one in the file)
  --ca CAFILE  CA certificate to verify against (default: ca.pem next to FILE, if present)
exit status: 0 valid (and verified when a CA was found), 1 chain failed or outside its validity, 2 unreadable input
`,
    load: () => import("./cert-inspect.ts"),
  },
  {
    name: "passwd",
    synopsis: "[--cost N]",
    summary: "read a password on stdin, print its bcrypt hash (password_hash)",
    details: `  --cost N     bcrypt cost from 4 to 16 (default ${BCRYPT_COST})
example: printf '%s' "$PASSWORD" | unibus passwd
`,
    load: () => import("./passwd.ts"),
  },
  {
    name: "nkey gen",
    synopsis: "",
    summary: "print a new user nkey: seed (client) and public key ([[client.nkeys]])",
    load: () => import("./nkey.ts"),
  },
  {
    name: "nats-server",
    synopsis: "(--config FILE | --data-dir DIR) [--] [ARGS...]",
    summary: "run the embedded nats-server (default: --version)",
    details: `  --config FILE    extract the binary into this node's data dir
  --data-dir DIR   or into DIR
  ARGS             passed to nats-server; put them after -- (e.g. -- --help, -- -t -c FILE)
`,
    load: () => import("./nats-server.ts"),
  },
  {
    name: "version",
    synopsis: "",
    summary: "unibus version, nats-server version, target (also --version)",
    load: () => import("./version.ts"),
  },
];

/** findCommand returns the table row for a command name. */
export function findCommand(name: string): CommandSpec | undefined {
  return COMMAND_TABLE.find((c) => c.name === name);
}

/**
 * COMMAND_GROUPS are the first words shared by several commands ("token" for
 * token create/list/revoke): alone they are not a command, and answer with
 * the group's usage instead of "unknown command".
 */
export const COMMAND_GROUPS: readonly string[] = [...new Set(COMMAND_TABLE.filter((c) => c.name.includes(" ")).map((c) => c.name.split(" ")[0]!))]
  // A first word that is a command itself ("backup", beside "backup inspect") runs that command.
  .filter((word) => !COMMAND_TABLE.some((c) => c.name === word));

/** groupUsage lists a group's commands, as `unibus help` does; undefined when the word is no group. */
export function groupUsage(group: string): string | undefined {
  if (!COMMAND_GROUPS.includes(group)) return undefined;
  const rows = COMMAND_TABLE.filter((c) => c.name.startsWith(`${group} `)).map((c) => `  unibus ${c.name}${c.synopsis ? ` ${c.synopsis}` : ""}\n      ${c.summary}\n`);
  return `usage: unibus ${group} COMMAND\n${rows.join("")}more: unibus help ${group} COMMAND (or unibus ${group} COMMAND --help)\n`;
}

/** usageOf is a command's `--help` text: synopsis, summary and flag details. */
export function usageOf(spec: CommandSpec): string {
  return `usage: unibus ${spec.name}${spec.synopsis ? ` ${spec.synopsis}` : ""}\n  ${spec.summary}\n${spec.details ?? ""}`;
}

/** helpText is what `unibus help` prints: every command with its synopsis and summary. */
export function helpText(): string {
  const rows = COMMAND_TABLE.map((c) => {
    const head = `  unibus ${c.name}${c.synopsis ? ` ${c.synopsis}` : ""}`;
    return head.length < 33 ? `${head.padEnd(33)}${c.summary}\n` : `${head}\n${" ".repeat(33)}${c.summary}\n`;
  });
  return `unibus: a NATS message-bus appliance in one executable\n\nusage:\n${rows.join("")}  unibus help [COMMAND]           this text, or one command's usage (also: unibus COMMAND --help)\n`;
}

/** wantsHelp tells whether argv asks for help: --help or -h before a `--`. */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

/**
 * resolveCommand finds the longest command name at the start of argv; argv
 * that starts with a flag (or is empty) means `run`, and `--version`/`-v`
 * alone means `version`. `help` (optionally followed by a command) is
 * returned as name "help".
 */
export function resolveCommand(argv: string[]): { name: string; args: string[] } {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) return { name: "version", args: [] };
  if (argv.length === 0 || argv[0] === undefined || argv[0].startsWith("-")) {
    if (wantsHelp(argv)) return { name: "help", args: [] };
    return { name: "run", args: argv };
  }
  if (argv[0] === "help") return { name: "help", args: argv.slice(1) };
  const two = `${argv[0]} ${argv[1] ?? ""}`;
  if (findCommand(two)) return { name: two, args: argv.slice(2) };
  return { name: argv[0], args: argv.slice(1) };
}
