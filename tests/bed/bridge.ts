/**
 * bridge.ts makes the LAN a bed test's boxes sit on: a Linux bridge of its own,
 * with an address for the machine (where the test's NATS client runs) and
 * one address per box in the same /24.
 */
import { run } from "./exec.ts";
import { uniqueLinkName } from "./names.ts";

/** subnetUsers lists the links holding an IPv4 address in SUBNET.0/24. */
async function subnetUsers(subnet: string): Promise<string[]> {
  const out = (await run(["ip", "-4", "-o", "addr", "show"])).stdout;
  return [...out.matchAll(/^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+)\.\d+\//gm)].filter((m) => m[2] === subnet).map((m) => m[1]!);
}

/**
 * BRIDGE_PREFIX starts every bed bridge name (then the owner's pid and a
 * counter, see names.ts), so stale ones can be found. Not the former "ubed":
 * a checkout with the former clean-up would misread these names too.
 */
export const BRIDGE_PREFIX = "bedbr";

/** Bridge is one test's LAN; dispose removes it (the boxes' veth ends go with their containers). */
export class Bridge {
  /** subnet is the first three octets, e.g. "10.213.7". */
  private constructor(readonly name: string, readonly subnet: string) {}

  /** hostAddress is the machine's own address on this LAN (x.x.x.1). */
  get hostAddress(): string {
    return `${this.subnet}.1`;
  }

  /** boxAddress is the address of box number n (0-based) on this LAN: x.x.x.(11+n). */
  boxAddress(n: number): string {
    return `${this.subnet}.${11 + n}`;
  }

  /**
   * create picks an unused 10.x.y.0/24 and a name carrying this process's id
   * (names.ts), creates the bridge and gives it the host address. Another run
   * may pick the same subnet at the same moment: when a second link holds it
   * once the address is set, this bridge gives it up and tries another, so
   * no two bridges ever route one /24 (the machine's traffic to a box would
   * leave through either).
   */
  static async create(): Promise<Bridge> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250) + 1}`;
      if ((await subnetUsers(subnet)).length) continue;
      const name = uniqueLinkName(BRIDGE_PREFIX);
      const made = await run(["ip", "link", "add", name, "type", "bridge"]);
      if (made.code !== 0) continue;
      const bridge = new Bridge(name, subnet);
      try {
        await run(["ip", "addr", "add", `${bridge.hostAddress}/24`, "dev", name], { check: true });
        if ((await subnetUsers(subnet)).some((link) => link !== name)) {
          await bridge.dispose();
          continue;
        }
        await run(["ip", "link", "set", name, "up"], { check: true });
      } catch (err) {
        await bridge.dispose();
        throw err;
      }
      return bridge;
    }
    throw new Error("cannot find a free 10.x.y.0/24 for a bed bridge");
  }

  /** dispose deletes the bridge; it is safe to call twice. */
  async dispose(): Promise<void> {
    await run(["ip", "link", "del", this.name]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
