/**
 * command-modules.ts names the module that runs each command of COMMAND_TABLE.
 * It is apart from the table because every command module imports the table
 * (to parse its flags with parseCommand): the table must not import them back.
 * Each entry loads its module on demand, so `unibus --version` does not pay
 * for the admin page or the PKI; the Record type makes a command without a
 * module a type error.
 */
import type { CommandName } from "./commands.ts";

/** Command is what every lib/cli module exports: run with the remaining argv, return an exit code. */
export interface Command {
  run(args: string[]): Promise<number>;
}

/** COMMAND_MODULES loads the module of each command, by name. */
export const COMMAND_MODULES: Readonly<Record<CommandName, () => Promise<Command>>> = {
  "run": () => import("./run.ts"),
  "config check": () => import("./config-check.ts"),
  "status": () => import("./status.ts"),
  "reload": () => import("./reload.ts"),
  "context": () => import("./context.ts"),
  "unit": () => import("./unit.ts"),
  "init cluster": () => import("./init-cluster.ts"),
  "token create": async () => ({ run: (await import("./token.ts")).create }),
  "token list": async () => ({ run: (await import("./token.ts")).list }),
  "token revoke": async () => ({ run: (await import("./token.ts")).revoke }),
  "join": () => import("./join.ts"),
  "edge list": async () => ({ run: (await import("./edge.ts")).list }),
  "edge remove": async () => ({ run: (await import("./edge.ts")).remove }),
  "remove": async () => ({ run: (await import("./remove.ts")).remove }),
  "recover": () => import("./recover.ts"),
  "leave": async () => ({ run: (await import("./remove.ts")).leave }),
  "user add": async () => ({ run: (await import("./user.ts")).add }),
  "user passwd": async () => ({ run: (await import("./user.ts")).passwd }),
  "user remove": async () => ({ run: (await import("./user.ts")).remove }),
  "user list": async () => ({ run: (await import("./user.ts")).list }),
  "backup": () => import("./backup.ts"),
  "backup inspect": async () => ({ run: (await import("./backup.ts")).inspect }),
  "restore": () => import("./restore.ts"),
  "ca create": () => import("./ca.ts"),
  "ca rotate": () => import("./ca-rotate.ts"),
  "cert issue": () => import("./cert-issue.ts"),
  "cert inspect": () => import("./cert-inspect.ts"),
  "passwd": () => import("./passwd.ts"),
  "nkey gen": () => import("./nkey.ts"),
  "nats-server": () => import("./nats-server.ts"),
  "version": () => import("./version.ts"),
};
