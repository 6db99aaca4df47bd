/** nats-server's log lines keep their level when relayed; its start-up banner drops to debug. */
import { describe, expect, test } from "bun:test";
import { parseNatsLogLine } from "../lib/natsd/nats-log.ts";

describe("nats-server log lines", () => {
  test("levels map from nats tags, with or without timestamps", () => {
    expect(parseNatsLogLine("[42] [WRN] slow consumer")).toEqual({ level: "warn", msg: "slow consumer" });
    expect(parseNatsLogLine("[42] 2026/11/23 10:00:00.123456 [ERR] boom")).toEqual({ level: "error", msg: "boom" });
    expect(parseNatsLogLine("[42] [FTL] fatal")).toEqual({ level: "error", msg: "fatal" });
    expect(parseNatsLogLine("[42] [TRC] trace")).toEqual({ level: "debug", msg: "trace" });
    expect(parseNatsLogLine("panic: runtime error").level).toBe("info");
  });

  test("the JetStream banner is debug, the facts under it stay info", () => {
    for (const art of ["    _ ___ _____ ___ _____ ___ ___   _   __  __", " \\__/|___| |_| |___/ |_| |_|_\\___/_/ \\_\\_|  |_|", "", "         https://docs.nats.io/jetstream", "---------------- JETSTREAM ----------------"]) {
      expect(parseNatsLogLine(`[1] [INF] ${art}`).level).toBe("debug");
    }
    expect(parseNatsLogLine("[1] [INF]   Max Memory:      256.00 MB").level).toBe("info");
    expect(parseNatsLogLine("[1] [INF] Server is ready").level).toBe("info");
    expect(parseNatsLogLine("[1] [WRN] ---").level).toBe("warn"); // only info lines are demoted
  });
});
