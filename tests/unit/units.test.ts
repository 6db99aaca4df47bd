/**
 * The parsers behind every size, duration, address and node name in
 * node.toml: what they accept, and that a refusal says what was expected.
 */
import { describe, expect, test } from "bun:test";
import {
  DURATION_HINT, LISTEN_HINT, PEER_HINT, SIZE_HINT, canonicalIp, isLoopback, isValidNodeName, isWildcard,
  joinHostPort, nodeNameFromHost, parseDuration, parseListen, parsePeer, parseSize, withDefaultPort,
} from "../../lib/config/units.ts";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { ROOT } from "../_helpers.ts";

describe("parseSize", () => {
  test("binary, decimal and bare units", () => {
    expect(parseSize("256MiB")).toBe(256 * 1024 ** 2);
    expect(parseSize("512MB")).toBe(512 * 1000 ** 2);
    expect(parseSize("1G")).toBe(1024 ** 3);
    expect(parseSize("8gib")).toBe(8 * 1024 ** 3);
    expect(parseSize("1.5KiB")).toBe(1536);
    expect(parseSize(4096)).toBe(4096);
    expect(parseSize(" 10 kb ")).toBe(10_000);
  });
  test("refusals name the expectation and the value", () => {
    for (const bad of ["", "12 parsecs", "-1MiB", "0", "MiB"]) expect(parseSize(bad)).toStartWith(SIZE_HINT);
    expect(parseSize(0)).toBe(`${SIZE_HINT}, got 0`);
    expect(parseSize(1.5)).toBe(`${SIZE_HINT}, got 1.5`);
    expect(parseSize(true)).toBe(`${SIZE_HINT}, got boolean`);
    expect(parseSize("12 parsecs")).toContain('"12 parsecs"');
  });
});

describe("parseDuration", () => {
  test("units and combinations", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("2m")).toBe(120_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("1.5s")).toBe(1500);
  });
  test("refusals", () => {
    for (const bad of ["30", "s", "30 s", "1d", "30s junk", ""]) expect(parseDuration(bad)).toStartWith(DURATION_HINT);
    expect(parseDuration(30)).toBe(`${DURATION_HINT}, got number`);
  });
});

describe("parseListen and parsePeer", () => {
  test("IPv4 and bracketed IPv6 with a canonical text", () => {
    expect(parseListen("127.0.0.1:4222")).toEqual({ host: "127.0.0.1", port: 4222, text: "127.0.0.1:4222" });
    expect(parseListen("[::1]:4222")).toEqual({ host: "::1", port: 4222, text: "[::1]:4222" });
    expect(parseListen(" 0.0.0.0:6222 ")).toEqual({ host: "0.0.0.0", port: 6222, text: "0.0.0.0:6222" });
  });
  test("a listen address must be an IP with a port 1-65535", () => {
    expect(parseListen("localhost:4222")).toBe(`${LISTEN_HINT}; "localhost" is not an IP address`);
    expect(parseListen("127.0.0.1:0")).toBe(`${LISTEN_HINT}; port must be 1-65535, got 0`);
    expect(parseListen("127.0.0.1:70000")).toBe(`${LISTEN_HINT}; port must be 1-65535, got 70000`);
    expect(parseListen("::1:4222")).toStartWith(LISTEN_HINT);
    expect(parseListen("[10.0.0.1]:4222")).toBe(`${LISTEN_HINT}; only IPv6 addresses go in brackets, got "[10.0.0.1]:4222"`);
    expect(parseListen(4222)).toBe(`${LISTEN_HINT}, got number`);
  });
  test("a peer may be a host name", () => {
    expect(parsePeer("pi-1.lan:6222")).toEqual({ host: "pi-1.lan", port: 6222, text: "pi-1.lan:6222" });
    expect(parsePeer("[fd00::1]:6222")).toEqual({ host: "fd00::1", port: 6222, text: "[fd00::1]:6222" });
    expect(parsePeer("bad_host!:6222")).toStartWith(PEER_HINT);
    expect(parsePeer("-leading.lan:6222")).toStartWith(PEER_HINT);
  });
});

describe("host and name predicates", () => {
  test("loopback and wildcard", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) expect(isLoopback(h)).toBe(true);
    for (const h of ["10.0.0.1", "0.0.0.0", "::"]) expect(isLoopback(h)).toBe(false);
    expect(isWildcard("0.0.0.0")).toBe(true);
    expect(isWildcard("::")).toBe(true);
    expect(isWildcard("127.0.0.1")).toBe(false);
  });
  test("node names are what JetStream accepts; host names are cleaned into one", () => {
    expect(isValidNodeName("pi-kitchen_1")).toBe(true);
    for (const bad of ["", "-lead", "has space", "dot.ted", "x".repeat(65), "wild*"]) expect(isValidNodeName(bad)).toBe(false);
    expect(nodeNameFromHost("pi-kitchen.lan")).toBe("pi-kitchen");
    expect(nodeNameFromHost("My Box!")).toBe("My-Box-");
    expect(nodeNameFromHost("--x")).toBe("x");
    expect(nodeNameFromHost("")).toBe("unibus");
    expect(isValidNodeName(nodeNameFromHost("ünïcode.host"))).toBe(true);
  });
});

describe("IPv6 brackets, written in one place", () => {
  test("joinHostPort brackets IPv6 addresses only, once", () => {
    expect(joinHostPort("fd00::1", 7422)).toBe("[fd00::1]:7422");
    expect(joinHostPort("fe80::1%eth0", 6223)).toBe("[fe80::1%eth0]:6223");
    expect(joinHostPort("10.0.0.11", 6223)).toBe("10.0.0.11:6223");
    expect(joinHostPort("pi-1.lan", 6223)).toBe("pi-1.lan:6223");
  });

  test("withDefaultPort adds the port to an address without one and keeps one that has it", () => {
    expect(withDefaultPort("10.0.0.11", 6223)).toBe("10.0.0.11:6223");
    expect(withDefaultPort("10.0.0.11:7000", 6223)).toBe("10.0.0.11:7000");
    expect(withDefaultPort("pi-1.lan", 6223)).toBe("pi-1.lan:6223");
    expect(withDefaultPort("fd00::1", 6223)).toBe("[fd00::1]:6223");
    expect(withDefaultPort("[fd00::1]", 6223)).toBe("[fd00::1]:6223");
    expect(withDefaultPort("[fd00::1]:7000", 6223)).toBe("[fd00::1]:7000");
  });

  test("canonicalIp writes an IPv6 address the one way and leaves names alone", () => {
    expect(canonicalIp("FD00:0:0::0001")).toBe("fd00::1");
    expect(canonicalIp("10.0.0.11")).toBe("10.0.0.11");
    expect(canonicalIp("pi-1.lan")).toBeUndefined();
  });

  test("no module but lib/config/units.ts puts a host in brackets by hand", () => {
    const lib = join(ROOT, "lib");
    const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : /\.tsx?$/.test(n) ? [join(dir, n)] : []);
    const offenders = files(lib).filter((f) => !f.endsWith("/config/units.ts")).flatMap((f) =>
      readFileSync(f, "utf8").split("\n").map((line, i) => ({ line, at: `${relative(ROOT, f)}:${i + 1}` }))
        .filter(({ line }) => /`[^`]*\[\$\{[^}]*(host|addr|ip|Host)[^}]*\}\]/.test(line) || /includes\(":"\)\s*\?\s*`\[/.test(line)).map((x) => x.at));
    expect(offenders).toEqual([]);
  });
});
