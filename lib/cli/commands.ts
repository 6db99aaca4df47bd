/**
 * commands.ts is the table of unibus commands. Each entry loads its module on
 * demand, so `unibus --version` does not pay for the admin page or the PKI.
 */

/** Command is what every lib/cli module exports: run with the remaining argv, return an exit code. */
export interface Command {
  run(args: string[]): Promise<number>;
}

/** COMMANDS maps a command name (words joined by a space) to its module. */
export const COMMANDS: Record<string, () => Promise<Command>> = {
  run: () => import("./run.ts"),
  version: () => import("./version.ts"),
  "config check": () => import("./config-check.ts"),
  "ca create": () => import("./ca.ts"),
  "cert issue": () => import("./cert-issue.ts"),
  "cert inspect": () => import("./cert-inspect.ts"),
  "nats-server": () => import("./nats-server.ts"),
  passwd: () => import("./passwd.ts"),
  "nkey gen": () => import("./nkey.ts"),
  "init cluster": () => import("./init-cluster.ts"),
  status: () => import("./status.ts"),
};

/** HELP is the usage text printed by `unibus help` and on unknown commands. */
export const HELP = `unibus: a NATS message-bus appliance in one executable

usage:
  unibus [run] --config FILE [--log-format text|json] [--log-level LEVEL]
                                 run the node (nats-server with JetStream, supervised)
  unibus config check --config FILE
                                 validate the config and print it with secrets redacted
  unibus status --config FILE [--json]
                                 routes, JetStream meta leader, missing peers; exit 0 when healthy
  unibus init cluster --name NAME --node NAME=ADDR ... --out DIR [--force]
                                 make a cluster: CA, route secret, one config per node
  unibus ca create --out DIR [--name CN] [--days N] [--force]
                                 create a cluster CA (ca.pem, ca-key.pem 0600)
  unibus cert issue --ca DIR --name NAME [--san S ...] [--no-host-sans] [--days N] --out DIR [--force]
                                 issue a node certificate from the CA
  unibus cert inspect FILE [--ca CA.pem]
                                 show subject, SANs, usages, issuer, days left, chain
  unibus passwd [--cost N]       read a password on stdin, print its bcrypt hash (password_hash)
  unibus nkey gen                print a new user nkey: seed (client) and public key ([[client.nkeys]])
  unibus nats-server (--config FILE | --data-dir DIR) [--] [ARGS...]
                                 run the embedded nats-server (default: --version)
  unibus --version               unibus version, nats-server version, target
  unibus help                    this text
`;

/**
 * resolveCommand finds the longest command name at the start of argv; argv
 * that starts with a flag (or is empty) means `run`, and `--version`/`-v`
 * anywhere before a command word means `version`.
 */
export function resolveCommand(argv: string[]): { name: string; args: string[] } {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) return { name: "version", args: [] };
  if (argv.length === 0 || argv[0] === undefined || argv[0].startsWith("-")) {
    if (argv.includes("--help") || argv.includes("-h")) return { name: "help", args: [] };
    return { name: "run", args: argv };
  }
  if (argv[0] === "help" || argv[0] === "--help") return { name: "help", args: [] };
  const two = `${argv[0]} ${argv[1] ?? ""}`;
  if (COMMANDS[two]) return { name: two, args: argv.slice(2) };
  return { name: argv[0], args: argv.slice(1) };
}
