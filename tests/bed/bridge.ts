/**
 * bridge.ts makes the LAN a bed test's boxes sit on: a Linux bridge of its own,
 * with an address for the machine (where the test's NATS client runs) and
 * one address per box in the same /24.
 */
import { run } from "./exec.ts";

/** BRIDGE_PREFIX starts every bed bridge name (then the owner's pid in base 36, "x", a random suffix), so stale ones can be found. */
export const BRIDGE_PREFIX = "ubed";

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
   * (15 characters at most), creates the bridge and gives it the host address.
   */
  static async create(): Promise<Bridge> {
    const routes = (await run(["ip", "-4", "route", "show"])).stdout;
    for (let attempt = 0; attempt < 50; attempt++) {
      const subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250) + 1}`;
      if (routes.includes(`${subnet}.`)) continue;
      const name = `${BRIDGE_PREFIX}${process.pid.toString(36)}x${Math.floor(Math.random() * 36 * 36).toString(36)}`;
      const made = await run(["ip", "link", "add", name, "type", "bridge"]);
      if (made.code !== 0) continue;
      const bridge = new Bridge(name, subnet);
      try {
        await run(["ip", "addr", "add", `${bridge.hostAddress}/24`, "dev", name], { check: true });
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
