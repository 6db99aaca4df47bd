/**
 * membership.ts is the rule for what the membership agent found (its state
 * file) and the left marker: this node removed or left, refused for a
 * duplicate name, a second box under a member's name, a certificate from a
 * retired CA, renewal failing, and check-ins no CA holder answers.
 */
import { leftMessage } from "../../membership/left-marker.ts";
import { defineRule, type ProblemOf } from "../rule.ts";

/** NO_CA_HOLDER_GRACE_MS is how long check-ins may fail at start before status calls it a problem (six rounds). */
export const NO_CA_HOLDER_GRACE_MS = 30_000;
/** CA_HOLDER_GONE_GRACE_MS is how long check-ins that used to work may fail before status says the CA holder is gone (twelve rounds). */
export const CA_HOLDER_GONE_GRACE_MS = 60_000;

type MembershipKind = "member_removed" | "duplicate_node_name" | "certificate_from_retired_ca" | "certificate_renewal_failing" | "no_ca_holder";

/** membershipRule reports member_removed, duplicate_node_name, certificate_from_retired_ca, certificate_renewal_failing and no_ca_holder. */
export const membershipRule = defineRule({
  name: "membership",
  kinds: ["member_removed", "duplicate_node_name", "certificate_from_retired_ca", "certificate_renewal_failing", "no_ca_holder"],
  check({ facts: f }) {
    const cluster = f.config.cluster;
    if (!cluster || !f.config.tls) return [];
    const node = f.node;
    const out: ProblemOf<MembershipKind>[] = [];
    if (f.left) {
      out.push({ kind: "member_removed", severity: "broken", node, cause: `${leftMessage(f.left)}: unibus is stopped on purpose and refuses to start`, fix: `to make this box a member again: unibus join ADDR --token TOKEN --name ${node} --replace --force (a token from unibus token create on a CA holder); to uninstall it: sudo ./install.sh --uninstall --purge` });
      return out;
    }
    const state = f.membership;
    if (!state) return out;
    if (state.duplicate) {
      out.push({ kind: "duplicate_node_name", severity: "broken", node, cause: `a CA holder refused this node: ${state.duplicate}`, fix: `give this box its own name: unibus join ADDR --token TOKEN --name NEW-NAME (a token from unibus token create on a CA holder)` });
    }
    for (const c of state.conflicts ?? []) {
      out.push({ kind: "duplicate_node_name", severity: "broken", node: c.name, cause: `a second box at ${c.address} calls itself "${c.name}", which is already a member (seen ${c.at}): JetStream would take it for ${c.name}`, fix: `stop unibus on the box at ${c.address}, then join it under its own name (unibus join … --name NEW-NAME)` });
    }
    if (state.removed) {
      out.push({ kind: "member_removed", severity: "broken", node, cause: `this node "${node}" was removed from cluster "${cluster.name}" (unibus remove / leave)`, fix: `stop it (systemctl disable --now unibus); to make it a member again: unibus join ADDR --token TOKEN --name ${node} --replace` });
    }
    if (state.caRetired) {
      out.push({ kind: "certificate_from_retired_ca", severity: "broken", node, cause: `this node's certificate comes from a CA cluster "${cluster.name}" no longer trusts: its CA rotation finished (unibus ca rotate --finish) while this node was away (noticed ${state.caRetired.since}); every peer refuses its routes`, fix: `join it again under its name: on the CA holder run unibus token create, then here: sudo unibus join ADDR --token TOKEN --name ${node} --replace --force, and restart unibus` });
    }
    if (state.renewalFailing) {
      out.push({ kind: "certificate_renewal_failing", severity: "degraded", node, cause: `renewing the node certificate through a CA holder fails since ${state.renewalFailing.since}: ${state.renewalFailing.error}`, fix: "make sure a CA holder runs and its join port (route port + 1) is reachable from this box; the node retries every 5 s" });
    }
    // Peers start at about the same time: a check-in refused while their join ports are still
    // coming up is not a problem until it has lasted a few check-in rounds. Once check-ins worked,
    // failing ones count after CA_HOLDER_GONE_GRACE_MS: the CA holder went away.
    // A CA holder is never without one: it admits boxes and renews certificates itself (another
    // holder that is down is named by the route rules).
    const failingMs = state.checkinFailingSince ? f.now - Date.parse(state.checkinFailingSince) : 0;
    if (!f.config.tls?.caKey && state.checkinError && failingMs >= (state.lastCheckin ? CA_HOLDER_GONE_GRACE_MS : NO_CA_HOLDER_GRACE_MS)) {
      const holders = f.members.filter((m) => m.service && !m.removed && m.name !== node).map((m) => `${m.name} (${m.service})`);
      const who = holders.length ? `the CA holder${holders.length > 1 ? "s" : ""} ${holders.join(", ")} ${holders.length > 1 ? "have" : "has"} not answered` : "no CA holder has answered";
      const since = state.lastCheckin ? `for ${Math.round(failingMs / 1000)} s (the last check-in went through at ${state.lastCheckin.at}, to ${state.lastCheckin.with})` : "since this node started";
      out.push({
        kind: "no_ca_holder", severity: "degraded", node,
        cause: `${who} this node's check-ins ${since}: ${state.checkinError}. Until one is back, no box can join, no join token can be made and no certificate can be renewed; members do not learn of new boxes`,
        fix: holders.length ? `start unibus on ${holders.map((h) => h.split(" ")[0]).join(" or ")} (systemctl start unibus), or open its join port (route port + 1) to this box` : "start a node that holds the CA key, or open its join port (route port + 1)",
      });
    }
    return out;
  },
});
