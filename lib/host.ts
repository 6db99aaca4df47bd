/**
 * host.ts reads what this machine is called and where it can be reached. The
 * config (which peer is this node) and the PKI (which SANs the certificate
 * needs) both ask, so it sits below both.
 */
import { hostname, networkInterfaces } from "node:os";

/** HostInfo is this host's name and addresses; tests pass a fake one. */
export interface HostInfo {
  hostname: string;
  /** Every address of every interface, loopback included; callers filter. */
  addresses: string[];
}

/** currentHost reads this host's name and interface addresses. */
export function currentHost(): HostInfo {
  const addresses: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) addresses.push(info.address);
  }
  return { hostname: hostname(), addresses };
}
