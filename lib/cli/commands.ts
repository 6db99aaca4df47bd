/**
 * commands.ts is the one table of unibus commands: name, positional
 * arguments, summary, the flags it takes and the prose of its help.
 * `unibus help`, each command's `--help`, the synopsis, the usage appended to
 * a usage error and each command's flag parsing (parseCommand) all come from
 * here, so a command cannot be listed without its help, nor take a flag its
 * help does not name. The module that runs each command is in
 * command-modules.ts (command modules import this table to parse their flags).
 */
import { BCRYPT_COST } from "../auth/bcrypt.ts";
import { DEFAULTS } from "../config/defaults.ts";
import { NODE_NAME_HINT } from "../config/units.ts";

/**
 * FlagSpec declares one flag of one command, once: parseCommand parses with
 * it and `--help` and the synopsis print it, so a flag cannot be accepted
 * without being documented, nor documented without being accepted.
 */
export interface FlagSpec {
  /** string takes a value; boolean is a switch. */
  type: "string" | "boolean";
  /** true: repeatable, collected into an array. */
  multiple?: boolean;
  /** One-letter alias ("c" for -c). */
  short?: string;
  /** The value's name in help and synopsis (FILE, DIR, N); string flags only. */
  value?: string;
  /** true: printed without brackets in the synopsis (the command refuses to run without it). */
  required?: boolean;
  /** What the flag does, with its default in words; further lines are indented under the first. */
  help: string;
  /** The parsed value when the flag is absent. */
  default?: string | boolean;
}

/** CommandSpec is one row of the command table. */
export interface CommandSpec {
  /** Words after `unibus`, joined by a space ("cert issue"). */
  name: string;
  /** Positional arguments in the synopsis ("NAME", "FILE"); without it the command takes none. */
  args?: string;
  /** true: `args` is printed after the flags (nats-server's "[--] [ARGS...]"). */
  argsLast?: boolean;
  /** One line saying what the command does. */
  summary: string;
  /** Prose printed before the flag lines. */
  intro?: string;
  /** What each positional argument of `args` is, printed aligned with the flags (before them, or after with argsLast). */
  argsHelp?: Readonly<Record<string, string>>;
  /** The command's flags by long name, in the order help prints them. */
  flags: Readonly<Record<string, FlagSpec>>;
  /** Prose printed after the flag lines: exit statuses, examples, each line ending in a newline. */
  details?: string;
}

const configFlag = (help: string) => ({ type: "string", short: "c", value: "FILE", help }) as const;
const NODE_CONFIG = "this node's config (default /etc/unibus/unibus.toml)";
const MEMBER_CONFIG = "this member's config (default /etc/unibus/unibus.toml); run it on any member";
const JSON_FLAG = { type: "boolean", default: false, help: "print JSON instead of a table" } as const;
const RULE_FLAGS = {
  publish: { type: "string", multiple: true, value: "S", help: "subjects it may publish to (repeatable; none: all for a password user, nothing for an nkey user)" },
  subscribe: { type: "string", multiple: true, value: "S", help: "subjects it may subscribe to (likewise)" },
  "deny-publish": { type: "string", multiple: true, value: "S", help: "subjects it may not publish to (repeatable)" },
  "deny-subscribe": { type: "string", multiple: true, value: "S", help: "subjects it may not subscribe to (repeatable)" },
} as const;

/** COMMAND_TABLE lists every command in the order `unibus help` prints them. */
export const COMMAND_TABLE = [
  {
    name: "run",
    summary: "run the node (nats-server with JetStream, supervised); `unibus --config FILE` is the same",
    flags: {
      config: configFlag("node.toml (default /etc/unibus/unibus.toml when it exists)"),
      "log-format": { type: "string", value: "F", help: "text, json or auto (default: [log] format)" },
      "log-level": { type: "string", value: "L", help: "debug, info, warn or error (default: [log] level)" },
    },
    details: "signals: SIGHUP reloads the file, SIGTERM/SIGINT stop gracefully, a second SIGINT forces exit (130)\n",
  },
  {
    name: "config check",
    summary: "validate the config, warn about what will fail at run time, print who may connect and the effective config, secrets redacted",
    flags: { config: configFlag("the config to check (default /etc/unibus/unibus.toml)") },
    details: "warnings (stderr): a clustered node named after its host, a bcrypt hash where a secret is sent, a leaf uplink without ca_file, max_file larger than the disk, a 2-node cluster, many passwords hashed at every start (give password_hash)\nexit status: 0 valid (warnings included), 2 invalid (every problem named as file:line:column: key: expected …)\n",
  },
  {
    name: "status",
    summary: "one verdict line, then every problem with its node, cause and fix; exit 0 healthy, 3 degraded, 4 broken",
    intro: `  says whether the node running with FILE is healthy and, when it is not,
  what is wrong, on which node, and how to fix it (routes, JetStream meta
  group, leaf uplinks, certificate and CA fingerprint, disk)
`,
    flags: {
      config: configFlag("the running node's config (default /etc/unibus/unibus.toml)"),
      json: { type: "boolean", default: false, help: "print the status as JSON (the same diagnosis the admin page serves)" },
    },
    details: `exit status: 0 healthy, 3 degraded (the bus works, something needs attention), 4 broken, 2 the config is invalid
  (the error first, then the running node's health judged with the config it last applied), 77 the config
  cannot be read (permission denied: run it with sudo)
`,
  },
  {
    name: "reload",
    summary: "make the running node re-read its config and wait; exit 1 with the reason when it refused the change",
    flags: {
      config: configFlag("the running node's config (default /etc/unibus/unibus.toml)"),
      pid: { type: "string", value: "PID", help: "the unibus process (default: the one holding the config's data dir); systemd passes $MAINPID" },
      timeout: { type: "string", value: "N", help: "seconds to wait for the outcome (default 60)" },
    },
    details: "exit status: 0 applied, 1 refused (the node keeps running the previous config) or no answer, 2 the file is invalid\n",
  },
  {
    name: "context",
    summary: "print a nats CLI context (URL, CA, credentials) for the node's system account",
    flags: {
      config: configFlag("the node's config (default /etc/unibus/unibus.toml)"),
      user: { type: "string", value: "NAME", help: "an operator of [[system_account.users]] (default: the node's own nkey,\n<data_dir>/system-account.nk, readable by the service user only)" },
      out: { type: "string", short: "o", value: "FILE", help: "write the JSON there (mode 0600) instead of printing it" },
    },
    details: `examples:
  unibus context --user ops --out ~/.config/nats/context/pi-1.json && nats --context pi-1 server ping
  sudo unibus context > /root/.config/nats/context/pi-1.json    # the node's own key: root or the service user
`,
  },
  {
    name: "unit",
    summary: "print the systemd unit for this config (install.sh installs what it prints)",
    flags: { config: configFlag("the config the service will run (default /etc/unibus/unibus.toml)") },
    details: `  adjusts the embedded packaging/unibus.service: CAP_NET_BIND_SERVICE for a listen port below 1024,
  TimeoutStopSec= beyond [node] lame_duck_duration, ReadWritePaths= for a data_dir outside /var/lib/unibus
exit status: 0 printed, 2 the config is invalid or its data_dir is inside the config's folder
`,
  },
  {
    name: "init cluster",
    summary: "make a cluster: CA, route secret, one config per node",
    flags: {
      name: { type: "string", value: "NAME", required: true, help: `cluster name (${NODE_NAME_HINT})` },
      node: { type: "string", multiple: true, value: "NAME=ADDRESS[:PORT]", required: true, help: `one per box: node name and the address the other boxes reach it at\n(IP or host name; route port default ${DEFAULTS.clusterListen.port})` },
      out: { type: "string", short: "o", value: "DIR", required: true, help: "where to write certs/ca.pem, certs/ca-key.pem, cluster.secret and NAME.toml per node" },
      "client-listen": { type: "string", value: "H:P", help: `the cluster's client port (default ${DEFAULTS.clientListen.text}); 0.0.0.0:4222 lets LAN clients in\non every member, boxes that join included, signing in as the cluster's users (unibus user add)` },
      "mqtt-listen": { type: "string", value: "H:P", help: "an MQTT listener on every member (e.g. 0.0.0.0:1883); boxes that join take it over" },
      ca: { type: "string", value: "DIR", help: "reuse the CA in DIR (ca.pem and ca-key.pem, e.g. another site's certs/) instead of making one:\nsites joined by [gateway] trust each other through one CA" },
      site: { type: "boolean", default: false, help: "this cluster is a site of its own: its own JetStream (domain = --name), joined to other\nsites by [gateway]; writes gateway.secret (the --ca folder's site's, when it has one)" },
      force: { type: "boolean", default: false, help: "replace files that already exist (a new CA and secret: every node must get the new files)" },
    },
    details: `example:
  unibus init cluster --name homelab --node pi-1=10.0.0.11 --client-listen 0.0.0.0:4222 --out homelab/
two sites, each with its own JetStream, one CA and one gateway secret (README "Sites"):
  unibus init cluster --name site-a --site --node a-1=10.1.0.11 --node a-2=10.1.0.12 --out site-a/
  unibus init cluster --name site-b --site --node b-1=10.2.0.11 --node b-2=10.2.0.12 --out site-b/ --ca site-a/certs
`,
  },
  {
    name: "token create",
    summary: "on a node holding the CA key: make a join token and print the `unibus join` line for a new box",
    flags: {
      config: configFlag("this node's config (default /etc/unibus/unibus.toml); it must hold [tls] ca_key"),
      ttl: { type: "string", value: "DURATION", default: DEFAULTS.joinTokenTtl, help: `how long the token admits boxes (default ${DEFAULTS.joinTokenTtl}; e.g. 30m, 7d is not a duration: use 168h)` },
      edge: { type: "boolean", default: false, help: "print the line that enrolls an edge box (unibus join … --edge) on a hub with [leafnodes] enroll = true" },
      quiet: { type: "boolean", short: "q", default: false, help: "print only the join line" },
    },
    details: "the token is UB1-<sha256 of the CA certificate>-<id>-<secret>; it is kept in join-tokens.secret beside the config\n",
  },
  {
    name: "token list",
    summary: "list join tokens: id, valid/expired/revoked, dates (never the secrets)",
    flags: { config: configFlag(NODE_CONFIG), json: JSON_FLAG },
  },
  {
    name: "token revoke",
    args: "ID",
    summary: "stop a join token from admitting anyone, at once",
    flags: { config: configFlag(NODE_CONFIG) },
  },
  {
    name: "join",
    args: "ADDRESS",
    summary: "make this box a member of a running cluster: certificate, route secret, config, in one step",
    argsHelp: { ADDRESS: "a CA holder's join port, as printed by unibus token create (e.g. 10.0.0.11:6223)" },
    flags: {
      token: { type: "string", value: "TOKEN", required: true, help: "the join token (or $UNIBUS_JOIN_TOKEN); its CA digest pins the cluster CA" },
      edge: { type: "boolean", default: false, help: "enroll this box as an edge of a hub cluster (one with [leafnodes] enroll = true) instead of a\nmember: its own certificate and leaf nkey, an uplink listing every hub node; no route secret" },
      name: { type: "string", value: "NAME", help: "this node's name (default: the host name); must be new to the cluster" },
      replace: { type: "boolean", default: false, help: "take over the name of a dead member (a box whose disk is gone), keeping its place" },
      out: { type: "string", short: "o", value: "DIR", help: "write DIR/unibus.toml, DIR/certs/, DIR/cluster.secret (default: /etc/unibus, data in /var/lib/unibus)" },
      "data-dir": { type: "string", value: "DIR", help: "where the node's data dir will be (default /var/lib/unibus, or DIR/data with --out)" },
      listen: { type: "string", value: "HOST:PORT", help: `route listen address on this box (default ${DEFAULTS.clusterListen.text})` },
      advertise: { type: "string", value: "HOST", help: "the address the other boxes reach this one at (default: the one facing the CA holder)" },
      force: { type: "boolean", default: false, help: "overwrite the files of an earlier node on this box" },
    },
    details: `the CA private key is never sent; this box's key is made here and never leaves it
example (or in one step with install: sudo ./install.sh --join 10.0.0.11:6223 --token UB1-...):
  sudo unibus join 10.0.0.11:6223 --token UB1-...
`,
  },
  {
    name: "edge list",
    summary: "on a hub node: list the edges enrolled with `unibus join --edge` (never their keys)",
    flags: { config: configFlag(NODE_CONFIG), json: JSON_FLAG },
  },
  {
    name: "edge remove",
    args: "NAME",
    summary: "on a hub node: shut one enrolled edge out (its key stops signing in on every hub node; the others keep their uplinks)",
    flags: { config: configFlag(NODE_CONFIG) },
  },
  {
    name: "remove",
    args: "NAME",
    summary: "take a stopped or dead member out of the cluster: JetStream meta group and members list",
    argsHelp: { NAME: "the member to remove (unibus status lists them)" },
    flags: {
      config: configFlag("this node's config (default /etc/unibus/unibus.toml); run it on any member"),
      force: { type: "boolean", default: false, help: "remove a member that is still running, or the only CA holder" },
    },
    details: "refuses to remove the last quorum member: the remaining servers must keep a majority\n",
  },
  {
    name: "recover",
    summary: "on the last survivor of a lost majority: become a cluster of one with its data, writable, ready for new boxes",
    flags: {
      config: configFlag("this node's config (default /etc/unibus/unibus.toml); unibus must be running"),
      force: { type: "boolean", default: false, help: "go on although another member may be alive (its port answers, it was heard from lately)" },
      yes: { type: "boolean", default: false, help: "do not ask (needed when stdin is not a terminal)" },
    },
    details: `takes every other server out of the JetStream meta group (nats-server's meta rescue, then peer removal);
says first what is lost: writes only the dead members acknowledged, streams with no replica here.
Streams keep their replica count and get their missing replicas back as new boxes join (new names).
Refuses while the meta group has a leader (use unibus remove NAME then), a route to another member is up,
another member's route or join port answers, or another server was heard from in the last minute
`,
  },
  {
    name: "leave",
    summary: "on the box that goes: leave the JetStream meta group and the members list, then stop",
    flags: {
      config: configFlag(NODE_CONFIG),
      force: { type: "boolean", default: false, help: "leave although this node is the only member holding the CA key (no box can join afterwards)" },
    },
  },
  {
    name: "user add",
    args: "NAME",
    summary: "add a client user for the whole cluster (password on stdin, or an nkey): every member admits it within seconds, no restart",
    argsHelp: { NAME: "the user name clients sign in with (nkey users: a label)" },
    flags: {
      nkey: { type: "string", value: "KEY", help: "sign in with this public user nkey (unibus nkey gen) instead of a password" },
      ...RULE_FLAGS,
      only: { type: "string", value: "KINDS", help: "sign in only on these connection kinds: client, mqtt, websocket (e.g. --only mqtt for a device)" },
      replace: { type: "boolean", default: false, help: "replace an existing cluster user (password or key, and permissions)" },
      cost: { type: "string", value: "N", help: `bcrypt cost of the password hash from 4 to 16 (default ${BCRYPT_COST})` },
      config: configFlag(MEMBER_CONFIG),
    },
    details: `the password is read on standard input and hashed here (bcrypt); a majority of the members must answer,
  or nothing changes. The file's [[client.users]] of a box win over a cluster user of the same name there
example: printf '%s' "$APP_PASSWORD" | sudo unibus user add app
`,
  },
  {
    name: "user passwd",
    args: "NAME",
    summary: "give a cluster user a new password (on stdin) on every member; its connections with the old one are closed",
    flags: { config: configFlag(MEMBER_CONFIG), cost: { type: "string", value: "N", help: `bcrypt cost from 4 to 16 (default ${BCRYPT_COST})` } },
  },
  {
    name: "user remove",
    args: "NAME",
    summary: "remove a cluster user on every member; its connections are closed",
    flags: { config: configFlag(MEMBER_CONFIG) },
  },
  {
    name: "user list",
    summary: "the cluster's users (this member's copy), this box's file users, and which members are in step",
    flags: { config: configFlag(MEMBER_CONFIG), json: JSON_FLAG },
  },
  {
    name: "backup",
    summary: "write one backup file of the running cluster: every stream, KV bucket and object store, members, config, CA certificate",
    flags: {
      config: configFlag(MEMBER_CONFIG),
      out: { type: "string", short: "o", value: "FILE", help: "where to write (default: [backup] dir, unibus-backup-<node>-<UTC time>-manual.tar)" },
      "passphrase-file": { type: "string", value: "FILE", help: "also include the CA key and the route secret, encrypted with this passphrase\n(default: [backup] passphrase_file; without one they are left out)" },
    },
    details: `each stream is snapshotted by JetStream itself (consistent per stream); the file is a tar whose
manifest lists every entry's SHA-256; it is written as FILE.partial and renamed once complete
scheduled backups: [backup] every (12h) and keep (5) in node.toml
`,
  },
  {
    name: "backup inspect",
    args: "FILE",
    summary: "show what a backup file holds (streams, buckets, messages, cluster files); --verify checks every entry's SHA-256",
    flags: {
      verify: { type: "boolean", help: "check every entry's SHA-256 against the manifest" },
      json: { type: "boolean", help: "print JSON instead of text" },
    },
  },
  {
    name: "restore",
    args: "FILE",
    summary: "put a backup's streams, KV buckets and object stores back into the running cluster, all or some; nothing half-restored",
    flags: {
      config: configFlag(MEMBER_CONFIG),
      stream: { type: "string", multiple: true, value: "NAME", help: "restore only this stream, KV bucket or object store (by stream or bucket name); repeatable" },
      overwrite: { type: "boolean", help: "replace streams that exist (refused otherwise, naming them; nothing changes)" },
      extract: { type: "string", value: "DIR", help: "restore no stream: write the backup's cluster files (config, members, CA certificate;\nwith --passphrase-file also the CA key and route secret) into DIR, mode 0600" },
      "passphrase-file": { type: "string", value: "FILE", help: "with --extract: the passphrase that decrypts the CA key and route secret" },
    },
    details: `the whole file is checked against its manifest first: a damaged or cut-short file changes nothing;
when a stream fails, the streams restored so far are deleted and replaced ones put back
replicas above the cluster's size are lowered to it (and said so)
`,
  },
  {
    name: "ca create",
    summary: "create a cluster CA (ca.pem, ca-key.pem 0600)",
    flags: {
      out: { type: "string", short: "o", value: "DIR", required: true, help: "folder for ca.pem (0644) and ca-key.pem (0600); created if missing" },
      name: { type: "string", value: "CN", help: `common name of the CA (default "${DEFAULTS.caName}")` },
      days: { type: "string", value: "N", help: `lifetime in days (default ${DEFAULTS.caLifetimeDays}, ten years)` },
      force: { type: "boolean", default: false, help: "replace an existing CA (certificates it issued stop verifying)" },
    },
  },
  {
    name: "ca rotate",
    summary: "on the CA holder: replace the cluster CA with no outage (new CA trusted beside the old, every node reissued), then --finish drops the old CA",
    flags: {
      config: configFlag("the CA holder's config (default /etc/unibus/unibus.toml); it must hold [tls] ca_key"),
      finish: { type: "boolean", default: false, help: "drop the old CA: refused while a member still holds a certificate from it (unibus status lists them)" },
      force: { type: "boolean", default: false, help: "with --finish: drop it anyway (such a member must join again)" },
    },
    details: `start: writes ca-next.pem, ca-next-key.pem, ca-next-endorsed.pem and ca-bundle.pem (old + new, for clients) beside ca.pem,
  revokes outstanding join tokens (they pin the old CA) and reloads the running node; members learn the new CA and get
  a certificate from it at their next check-in (every 5 s)
finish: ca.pem and ca-key.pem become the new CA (the old key is deleted); ca-bundle.pem holds the new CA alone
example:
  sudo unibus ca rotate && sudo unibus status && sudo unibus ca rotate --finish
`,
  },
  {
    name: "cert issue",
    summary: "issue a node certificate from the CA",
    flags: {
      ca: { type: "string", value: "DIR", required: true, help: "folder holding ca.pem and ca-key.pem (from unibus ca create)" },
      name: { type: "string", short: "n", value: "NAME", required: true, help: "node name: the certificate's CN and first DNS SAN" },
      san: { type: "string", multiple: true, value: "S", help: "extra SAN, repeatable; IPv4/IPv6 addresses become IP SANs, anything else DNS" },
      "no-host-sans": { type: "boolean", default: false, help: "leave out this host's name and addresses (when issuing for another machine)" },
      days: { type: "string", value: "N", help: `lifetime in days (default ${DEFAULTS.certLifetimeDays}; never beyond the CA's own expiry)` },
      out: { type: "string", short: "o", value: "DIR", required: true, help: "folder for node.pem (0644) and node-key.pem (0600)" },
      force: { type: "boolean", default: false, help: "replace existing node.pem / node-key.pem" },
    },
  },
  {
    name: "cert inspect",
    args: "FILE",
    summary: "show subject, SANs, usages, issuer, days left, chain",
    argsHelp: { FILE: "PEM certificate to describe (the first one in the file)" },
    flags: { ca: { type: "string", value: "CAFILE", help: "CA certificate to verify against (default: ca.pem next to FILE, if present)" } },
    details: "exit status: 0 valid (and verified when a CA was found), 1 chain failed or outside its validity, 2 unreadable input\n",
  },
  {
    name: "passwd",
    summary: "read a password on stdin, print its bcrypt hash (password_hash)",
    flags: { cost: { type: "string", value: "N", help: `bcrypt cost from 4 to 16 (default ${BCRYPT_COST})` } },
    details: `example: printf '%s' "$PASSWORD" | unibus passwd
`,
  },
  {
    name: "nkey gen",
    summary: "print a new user nkey: seed (client) and public key ([[client.nkeys]])",
    flags: {},
  },
  {
    name: "nats-server",
    args: "[--] [ARGS...]",
    argsLast: true,
    summary: "run the embedded nats-server (default: --version)",
    flags: {
      config: configFlag("extract the binary into this node's data dir (one of --config and --data-dir is needed)"),
      "data-dir": { type: "string", value: "DIR", help: "or into DIR" },
    },
    argsHelp: { ARGS: "passed to nats-server; put them after -- (e.g. -- --help, -- -t -c FILE)" },
  },
  {
    name: "version",
    summary: "unibus version, nats-server version, target (also --version)",
    flags: {},
  },
] as const satisfies readonly CommandSpec[];

/** CommandName is the name of a command in the table ("token create"). */
export type CommandName = (typeof COMMAND_TABLE)[number]["name"];

/** FlagsOf is the flag declaration of one command, as a literal type parseCommand types its values from. */
export type FlagsOf<N extends CommandName> = Extract<(typeof COMMAND_TABLE)[number], { name: N }>["flags"];

/** synopsisOf is what follows `unibus NAME` in usage lines: positional arguments and flags, from the declaration. */
export function synopsisOf(spec: CommandSpec): string {
  const flags = Object.entries(spec.flags).map(([name, f]) => {
    const word = `--${name}${f.type === "string" ? ` ${f.value ?? "VALUE"}` : ""}${f.multiple ? " ..." : ""}`;
    return f.required ? word : `[${word}]`;
  });
  const parts = spec.argsLast ? [...flags, spec.args] : [spec.args, ...flags];
  return parts.filter((p) => p).join(" ");
}

/** flagLines renders a command's positional arguments and flags for `--help`: one aligned line each, further help lines indented under the first. */
export function flagLines(spec: CommandSpec): string {
  const flagRows = Object.entries(spec.flags).map(([name, f]) => [`${f.short ? `-${f.short}, ` : ""}--${name}${f.type === "string" ? ` ${f.value ?? "VALUE"}` : ""}`, f.help] as const);
  const argRows = Object.entries(spec.argsHelp ?? {});
  const rows = spec.argsLast ? [...flagRows, ...argRows] : [...argRows, ...flagRows];
  if (!rows.length) return "";
  const width = Math.min(24, Math.max(...rows.map(([label]) => label.length))) + 2;
  return rows.map(([label, help]) => {
    const [first, ...rest] = help.split("\n");
    const head = label.length + 2 > width ? `  ${label}  ${first}` : `  ${label.padEnd(width)}${first}`;
    return [head, ...rest.map((line) => `  ${" ".repeat(width)}${line}`)].join("\n") + "\n";
  }).join("");
}

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
  const rows = COMMAND_TABLE.filter((c) => c.name.startsWith(`${group} `)).map((c) => `  unibus ${c.name}${synopsisOf(c) ? ` ${synopsisOf(c)}` : ""}\n      ${c.summary}\n`);
  return `usage: unibus ${group} COMMAND\n${rows.join("")}more: unibus help ${group} COMMAND (or unibus ${group} COMMAND --help)\n`;
}

/** usageOf is a command's `--help` text: synopsis, summary and flag details. */
export function usageOf(spec: CommandSpec): string {
  return `usage: unibus ${spec.name}${synopsisOf(spec) ? ` ${synopsisOf(spec)}` : ""}\n  ${spec.summary}\n${spec.intro ?? ""}${flagLines(spec)}${spec.details ?? ""}`;
}

/** helpText is what `unibus help` prints: every command with its synopsis and summary. */
export function helpText(): string {
  const rows = COMMAND_TABLE.map((c) => {
    const head = `  unibus ${c.name}${synopsisOf(c) ? ` ${synopsisOf(c)}` : ""}`;
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
