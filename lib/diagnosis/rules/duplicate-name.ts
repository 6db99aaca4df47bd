/**
 * duplicate-name.ts is the rule for two servers under one name, as the
 * routes show it: nats-server refuses a second route from a server with this
 * node's name, and a node that took routes from two servers with a peer's
 * name shows them side by side (a cloned SD card, or a box given a member's
 * name). The membership rule reports what a CA holder saw at check-in.
 */
import { unibusCommand } from "../../config/installed.ts";
import type { RouteFact } from "../facts.ts";
import { defineRule, eventsOf, peersNamedBy, probeOf, withEvidence, type ProblemOf } from "../rule.ts";

/** duplicateNameRule reports duplicate_node_name from the route handshake and from twin servers. */
export const duplicateNameRule = defineRule({
  name: "duplicate-name",
  kinds: ["duplicate_node_name"],
  check({ facts: f, fresh, explained }) {
    if (!f.reachable || !f.config.cluster) return [];
    const out: ProblemOf<"duplicate_node_name">[] = [];
    const file = f.config.file;
    const dupEvents = eventsOf(fresh, "duplicate_node_name");
    const sameNameRoutes = f.routes.filter((r) => r.name === f.node);
    const sameNameProbes = f.missingPeers.filter((p) => probeOf(f, p)?.serverName === f.node);
    if (dupEvents.length || sameNameRoutes.length || sameNameProbes.length) {
      const name = dupEvents.find((e) => e.detail.name)?.detail.name ?? f.node;
      const hostHint = f.nameFromHost
        ? ` (${file} has no [node] name, so the node takes the host name "${f.node}", and the hosts share it: a Raspberry Pi is "raspberrypi" unless renamed)`
        : "";
      out.push(withEvidence({
        kind: "duplicate_node_name", severity: "broken", node: f.node,
        cause: `duplicate node name: this node and ${others(sameNameProbes, sameNameRoutes)} are all named "${name}"${hostHint}; nats-server refuses the second route and JetStream cannot count them`,
        // A member that joined has its name in its certificate: a new name means a new join, not an edit.
        fix: f.config.tls && !f.config.tls.caKey && !f.nameFromHost
          ? `the box that should not be "${name}" (a copy of this one's disk, or one given its name) must join anew under its own name: there, sudo systemctl disable --now unibus; sudo ./install.sh --uninstall --purge; then sudo ./install.sh --join ADDR --token T --name NEW-NAME (a token from sudo unibus token create on a CA holder)`
          : `give every node its own name: set [node] name = "…" (e.g. "pi-1", "pi-2", "pi-3") in each node's node.toml (this one: ${file}), then restart unibus on each`,
      }, dupEvents));
      for (const p of sameNameProbes) explained.add(p);
      if (!sameNameProbes.length && dupEvents.length) for (const p of peersNamedBy(f, dupEvents)) explained.add(p);
      // A peer whose route port answers without saying its name is most likely the duplicate too; one that does not answer is down.
      if (dupEvents.length) for (const p of f.missingPeers) if (probeOf(f, p)?.reachable && !probeOf(f, p)?.serverName) explained.add(p);
    }
    for (const t of f.twins ?? []) {
      out.push({
        kind: "duplicate_node_name", severity: "degraded", node: t.name,
        cause: `two servers both call themselves "${t.name}" (routes from ${t.addresses.join(" and ")}): one is a copy (a cloned SD card or copied /var/lib/unibus) or a box given that name; JetStream counts them as one server, and the other nodes refuse one of them`,
        fix: f.config.tls?.caKey
          ? `stop unibus on the copy (sudo systemctl disable --now unibus there), then give it its own name: sudo ./install.sh --uninstall --purge, and join it anew: sudo ./install.sh --join ADDR --token T --name NEW-NAME (a token from ${unibusCommand(f.config.file, "token create")})`
          : `stop unibus on the copy (sudo systemctl disable --now unibus there), then give it its own name: sudo ./install.sh --uninstall --purge, and join it anew: sudo ./install.sh --join ADDR --token T --name NEW-NAME (a token from sudo unibus token create on a CA holder)`,
      });
    }
    return out;
  },
});

function others(probed: string[], routes: RouteFact[]): string {
  const all = [...new Set([...probed, ...routes.map((r) => r.peer ?? r.address)])];
  return all.length ? `the peer${all.length === 1 ? "" : "s"} at ${all.join(", ")}` : "another node";
}
