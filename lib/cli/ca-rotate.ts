/**
 * ca-rotate.ts implements `unibus ca rotate` on the CA holder: start a CA
 * rotation (a new CA, trusted beside the old one on every node, then every
 * node reissued from it through its check-ins), and `--finish` to drop the old CA
 * once every member holds a certificate from the new one. Finishing is a
 * command, not automatic: the operator first hands the new ca-bundle.pem to
 * the clients that verify the servers, and the running service could not
 * replace ca.pem and ca-key.pem anyway (they are root's, in /etc/unibus).
 */
import { loadConfig, type UnibusConfig } from "../config/load.ts";
import { ConfigError, RuntimeError } from "../errors.ts";
import { readMembers, type MemberRecord } from "../membership/members.ts";
import { readTokens, revokeToken, tokenState, tokenStorePath } from "../membership/token-store.ts";
import { finishRotation, readClusterCa, startRotation, type ClusterCa } from "../pki/index.ts";
import { certFingerprint, colonFingerprint } from "../pki/index.ts";
import { configPath, parseCommand } from "./_flags.ts";
import { reloadNode, runningNode } from "./reload.ts";
import { dataDirLayout } from "../data-dir.ts";
import { readEdges } from "../membership/edges.ts";
import { pendingEdgesOf } from "../membership/rotation-view.ts";

/** run starts or finishes a CA rotation and makes the running node take it up. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand("ca rotate", args);
  const config = loadConfig(configPath(values.config));
  const tls = config.tls;
  if (!tls?.caKey) {
    const holders = readMembers(dataDirLayout(config.node.dataDir).members).filter((m) => m.service && !m.removed).map((m) => `${m.name} (${m.service})`);
    throw new ConfigError(`this node does not hold the CA key ([tls] ca_key is not set in ${config.file}): run \`unibus ca rotate\` on the CA holder${holders.length ? `: ${holders.join(", ")}` : ""}`);
  }
  const members = readMembers(dataDirLayout(config.node.dataDir).members).filter((m) => !m.removed);
  if (values.finish) return finish(config, members, values.force);
  const others = members.filter((m) => m.service && m.name !== config.node.name);
  if (others.length) {
    throw new ConfigError(`${others.map((m) => m.name).join(", ")} hold${others.length === 1 ? "s" : ""} the CA key too; a rotation makes the new CA key on this node alone, and a CA holder left with the old CA would refuse every reissued member. Make ${others.length === 1 ? "it a member" : "them members"} first: in ${others.length === 1 ? "its" : "each one's"} config drop [tls] ca_key and set cert = "<data_dir>/tls/node.pem", key = "<data_dir>/tls/node-key.pem", then restart unibus there (its join port closes; it renews through this node). Nothing was changed`);
  }
  const t0 = Date.now();
  const ca = await startRotation(tls.caCert, tls.caKey);
  const revoked = revokeOutstandingTokens(config);
  const reload = await reloadRunning(config);
  process.stdout.write(
    `CA rotation started in ${Date.now() - t0} ms on "${config.node.name}"${config.cluster ? ` (cluster "${config.cluster.name}")` : ""}.\n` +
      `  old CA  SHA-256 ${fp(ca.current)}  (still trusted until --finish)\n` +
      `  new CA  SHA-256 ${fp(ca.next!)}  (${ca.files.nextCert}; its key ${ca.files.nextKey} never leaves this box)\n` +
      `Every node learns the new CA at its next check-in (every 5 s) and trusts both; once the members that are up trust it, this node signs with the new CA and every node gets a certificate from it at its next check-in.\n` +
      (config.leafnodes?.enroll ? `Enrolled edges learn it at their check-ins too (every 15 s; the new CA waits for the edges that are up) and then renew their certificates from it.\n` : "") +
      `Clients that verify the servers: give them ${ca.files.clientBundle} (old + new CA) now, before their next reconnect.\n` +
      (revoked ? `Revoked ${revoked} outstanding join token${revoked === 1 ? "" : "s"} (they pin the old CA): make new ones with unibus token create.\n` : "") +
      reload +
      `Watch the progress: unibus status (members still holding old-CA certificates are listed). Then: sudo unibus ca rotate --finish\n`,
  );
  return 0;
}

async function finish(config: UnibusConfig, members: MemberRecord[], force: boolean): Promise<number> {
  const tls = config.tls!;
  const state = await readClusterCa(tls.caCert, tls.caKey!);
  if (!state.next) throw new ConfigError(`no CA rotation is in progress on "${config.node.name}" (${state.files.nextCert} does not exist): start one with \`unibus ca rotate\``);
  const pending = pendingMembers(state, members);
  if (pending.length && !force) {
    throw new RuntimeError(`not finishing the CA rotation: ${pending.map(describePending).join(", ")} still hold${pending.length === 1 ? "s" : ""} a certificate from the old CA, and would be refused everywhere once it is dropped. Wait for ${pending.length === 1 ? "it" : "them"} to check in (start a stopped member: it is still trusted and is reissued within seconds), remove a member that is gone for good (unibus remove NAME), or add --force (such a member must then join again: unibus join ADDR --token TOKEN --name NAME --replace --force). Nothing was changed`);
  }
  const edges = config.leafnodes?.enroll ? pendingEdgesOf(readEdges(dataDirLayout(config.node.dataDir).edges), certFingerprint(state.next), certFingerprint(state.current)) : [];
  if (edges.length && !force) {
    throw new RuntimeError(`not finishing the CA rotation: edge${edges.length === 1 ? "" : "s"} ${edges.map((e) => `${e.name} (${e.ca})`).join(", ")} still hold${edges.length === 1 ? "s" : ""} a certificate from the old CA: once it is dropped ${edges.length === 1 ? "its" : "their"} uplink cannot verify the hub and ${edges.length === 1 ? "it" : "they"} must enroll again. Start a stopped edge (it takes the new CA within 15 s), remove an edge that is gone for good (unibus edge remove NAME), or add --force (such an edge must then enroll again: unibus join ADDR --token TOKEN --edge --name NAME --replace --force). Nothing was changed`);
  }
  const t0 = Date.now();
  const done = await finishRotation(tls.caCert, tls.caKey!);
  const reload = await reloadRunning(config);
  process.stdout.write(
    `CA rotation finished in ${Date.now() - t0} ms: the cluster trusts only SHA-256 ${fp(done.current)} (${tls.caCert}); the old CA's key is deleted.\n` +
      (pending.length ? `Forced: ${pending.map((m) => m.name).join(", ")} still hold old-CA certificates and must join again.\n` : "") +
      (edges.length ? `Forced: edge${edges.length === 1 ? "" : "s"} ${edges.map((e) => e.name).join(", ")} must enroll again (unibus join … --edge --replace --force).\n` : "") +
      `Members drop the old CA at their next check-in. Clients: ${done.files.clientBundle} (or ${tls.caCert}) is the new CA alone.\n` +
      reload,
  );
  return 0;
}

/** pendingMembers are the members whose last seen certificate is not from the new CA. */
export function pendingMembers(state: ClusterCa, members: MemberRecord[]): MemberRecord[] {
  const next = state.next ? certFingerprint(state.next) : undefined;
  return next ? members.filter((m) => m.caFingerprint !== next) : [];
}

function describePending(m: MemberRecord): string {
  return `${m.name} (${m.caFingerprint ? "old-CA certificate" : "CA not reported yet"}, route ${m.route})`;
}

/** revokeOutstandingTokens revokes every valid join token: each pins the old CA's digest. */
function revokeOutstandingTokens(config: UnibusConfig): number {
  const file = tokenStorePath(config.file);
  const valid = readTokens(file).filter((t) => tokenState(t) === "valid");
  const source = config.cluster?.secret.source ?? "";
  const like = source.startsWith("file ") ? source.slice(5) : undefined;
  for (const t of valid) revokeToken(file, t.id, like);
  return valid.length;
}

/** reloadRunning makes the running node read the CA files again and says what happened. */
async function reloadRunning(config: UnibusConfig): Promise<string> {
  const pid = runningNode(config.node.dataDir);
  if (pid === undefined) return `unibus is not running with ${config.file}: it takes the change up when it starts.\n`;
  const outcome = await reloadNode(config.node.dataDir, pid, 60);
  if (!outcome.ok) throw new RuntimeError(`the CA files are written, but the running node refused the reload: ${outcome.message}; fix that and run: sudo unibus reload`);
  return `The running node (pid ${pid}) took it up.\n`;
}

function fp(cert: Parameters<typeof certFingerprint>[0]): string {
  return colonFingerprint(certFingerprint(cert));
}
