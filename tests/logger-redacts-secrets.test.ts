/** The logger never prints a registered secret: not raw, not escaped for JSON, HTML or a URL, not in a child logger's lines. */
import { describe, expect, test } from "bun:test";
import { Logger } from "../lib/log.ts";

function capture(format: "text" | "json" = "text") {
  const lines: string[] = [];
  const log = new Logger({ format, sink: (line) => lines.push(line) });
  return { log, lines };
}

describe("secret redaction", () => {
  const secret = `s3cr"et<&>'/+ x`;

  test("a secret is redacted in text and JSON lines, in fields and messages, also from child loggers", () => {
    for (const format of ["text", "json"] as const) {
      const { log, lines } = capture(format);
      log.addSecret(secret);
      log.info(`dialing with ${secret}`, { url: `nats://u:${encodeURIComponent(secret)}@h:6222`, raw: secret });
      log.child({ component: "nats" }).warn("echo", { value: secret });
      const out = lines.join("\n");
      expect(out).not.toContain(secret);
      expect(out).not.toContain(encodeURIComponent(secret));
      expect(out).not.toContain(JSON.stringify(secret).slice(1, -1));
      expect(out).toContain("redacted");
    }
  });

  test("escaped copies in a response body are redacted too", () => {
    const { log } = capture();
    log.addSecret(secret);
    const html = `<td>${secret.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")}</td>`;
    const json = JSON.stringify({ token: secret });
    expect(log.redact(html)).not.toContain("s3cr");
    expect(log.redact(json)).not.toContain("s3cr");
  });

  test("a level change on the parent reaches child loggers", () => {
    const { log, lines } = capture();
    const child = log.child({ component: "nats" });
    child.debug("hidden");
    log.configure({ level: "debug" });
    child.debug("shown");
    expect(lines.join("\n")).not.toContain("hidden");
    expect(lines.join("\n")).toContain("shown");
  });
});
