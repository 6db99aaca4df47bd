/**
 * nkey.ts is `unibus nkey gen`: it creates a user nkey pair. The public key
 * goes into [[client.nkeys]]; the seed stays with the client, which signs
 * the server's challenge with it (no password crosses the network).
 */
import { createUser } from "@nats-io/nkeys";
import { parseCommand } from "./_flags.ts";

/** run prints a new user seed and its public key. */
export async function run(args: string[]): Promise<number> {
  parseCommand("nkey gen", args);
  const pair = createUser();
  const seed = new TextDecoder().decode(pair.getSeed());
  process.stdout.write(
    `# seed: secret, give it to the client only (e.g. nkeyAuthenticator in nats.js, --nkey in the nats CLI)\n${seed}\n` +
    `# public key: put it into node.toml as [[client.nkeys]] public_key\n${pair.getPublicKey()}\n`,
  );
  return 0;
}
