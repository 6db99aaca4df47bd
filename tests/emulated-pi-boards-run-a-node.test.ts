/**
 * The arm64 executable runs a whole node on emulated Raspberry Pis under
 * full-system qemu: a Pi 5 (Cortex-A76, Debian's 16 KiB-page kernel, which
 * qemu-user cannot emulate) and a 1 GiB Pi 3 (Cortex-A53, 4 KiB pages). On
 * each the node becomes ready, a client does a round trip and a JetStream
 * write and read, `unibus status` is healthy, SIGTERM exits 0 and takes
 * nats-server with it. The idle RSS of unibus and its nats-server 5 s after a 5 s settle
 * is printed for the record (targets live in `npm run bench`, which measures it properly).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { BIN_ARM64, prerequisite, tempDir } from "./_helpers.ts";
import { BOARDS, CROSS_GLIBC, QEMU_SYSTEM, bootBoard, buildInitramfs } from "./board-fixtures.ts";

const IDLE_SECONDS = 5;
const ready = prerequisite(existsSync(QEMU_SYSTEM), "qemu-system-aarch64 (apt: qemu-system-arm)")
  && prerequisite(existsSync(CROSS_GLIBC), "the aarch64 glibc (apt: libc6-arm64-cross)")
  && prerequisite(existsSync(BIN_ARM64), `${BIN_ARM64} (npm run build)`);
const dir = tempDir("unibus-boards-");
afterAll(() => dir[Symbol.dispose]());
let initramfs: Promise<string> | undefined;

const MiB = (kib: string | undefined) => (Number(kib) / 1024).toFixed(1);

describe.if(ready)("emulated Raspberry Pi boards", () => {
  for (const board of BOARDS) {
    test(`${board.name} (${board.cpu}, ${board.pageKiB} KiB pages, ${board.memMiB} MiB): node, client, JetStream, status, SIGTERM`, async () => {
      initramfs ??= buildInitramfs(dir.path, BIN_ARM64, IDLE_SECONDS);
      const run = await bootBoard(board, await initramfs);
      const r = run.results;
      const say = `${board.name} console:\n${run.console.split("\n").filter((l) => !/token=/.test(l)).join("\n")}`;
      expect(r.done, say).toBe("ok");
      expect(r.page_kib).toBe(String(board.pageKiB));
      expect(Number(r.ready_ms)).toBeGreaterThan(0);
      expect(r.roundtrip, say).toBe("ok");
      expect(r.jetstream, say).toBe("ok");
      expect(r.client_exit).toBe("0");
      expect(r.status_exit, say).toBe("0");
      expect(run.console).toMatch(/^STATUS .*\bhealthy\b/im);
      expect(run.console).not.toMatch(/^STATUS .*(NOT healthy|DEGRADED|UNHEALTHY)/m);
      expect(Number(r.rss_unibus_kib)).toBeGreaterThan(0);
      expect(Number(r.rss_nats_kib)).toBeGreaterThan(0);
      expect(r.exit, say).toBe("0");
      expect(r.nats_left).toBe("no");
      expect(run.qemuExit).toBe(0);
      console.log(
        `${board.name} (emulated ${board.cpu}, ${r.page_kib} KiB pages, kernel ${r.kernel}): ready ${r.ready_ms} ms after start; ` +
        `idle RSS after ${IDLE_SECONDS} s: unibus ${MiB(r.rss_unibus_kib)} MiB (private ${MiB(r.rss_anon_unibus_kib)}), nats-server ${MiB(r.rss_nats_kib)} MiB; ` +
        `idle CPU unibus ${r.idle_cpu_unibus_pct}%, nats-server ${r.idle_cpu_nats_pct}%; SIGTERM to exit ${r.stop_ms} ms; VM run ${run.seconds.toFixed(0)} s`,
      );
    }, 600_000);
  }
});
