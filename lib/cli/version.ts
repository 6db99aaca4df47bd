import { embeddedNatsMeta } from "../runtime-embedded.ts";

/** run prints the unibus version (with the commit it was built from, so an upgrade can be confirmed), when it was built, the embedded nats-server version and the build target. */
export async function run(_args: string[]): Promise<number> {
  const meta = await embeddedNatsMeta();
  process.stdout.write(
    `unibus ${meta.unibusVersion}\n${meta.builtAt ? `built ${meta.builtAt}\n` : ""}nats-server ${meta.version} (debian ${meta.packageVersion}, sha256 ${meta.sha256.slice(0, 12)})\ntarget ${meta.target}\n`,
  );
  return 0;
}
