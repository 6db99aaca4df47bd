/**
 * A real Chromium (Debian's, driven by playwright-core) logs in to the admin
 * page of a running node: the login form, the node's name and readiness, the
 * self-refresh that the CSP allows, and the page without JavaScript.
 * Screenshots go to tests/artifacts/.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { RunningUnibus, freePort, nodeToml, tempDir, writeConfig } from "./_helpers.ts";
import { PANELS } from "../lib/admin/panels.ts";
import { ARTIFACTS, haveChromium as chromiumPresent, launchChromium } from "./admin-fixtures.ts";

const haveChromium = chromiumPresent();
const dir = tempDir("unibus-admin-browser-");
const client = await freePort();
const monitor = await freePort();
const adminPort = await freePort();
const config = writeConfig(dir.path, nodeToml({ name: "browser-node", client, monitor, extra: `[admin]\nlisten = "127.0.0.1:${adminPort}"\n` }));
const base = `http://127.0.0.1:${adminPort}`;
let node: RunningUnibus | undefined;
let browser: Browser | undefined;
let token = "";

beforeAll(async () => {
  if (!haveChromium) return;
  node = new RunningUnibus(["--config", config]);
  await node.ready();
  token = readFileSync(join(dir.path, "data", "admin.token"), "utf8").trim();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await node?.stop();
  dir[Symbol.dispose]();
});

async function logIn(page: Page, t: string): Promise<void> {
  await page.goto(`${base}/`);
  expect(new URL(page.url()).pathname).toBe("/login");
  await page.fill("#token", t);
  await Promise.all([page.waitForLoadState("load"), page.click("button[type=submit]")]);
}

describe.if(haveChromium)("the admin page in Chromium", () => {
  test("a wrong token stays on the login form with an error", async () => {
    const page = await browser!.newPage();
    await logIn(page, "certainly-not-the-token");
    expect(await page.textContent("[role=alert]")).toBe("Wrong token.");
    await page.screenshot({ path: join(ARTIFACTS, "admin-login-wrong-token.png") });
    await page.close();
  });

  test("logging in shows the node's name and readiness, and the page refreshes itself under the CSP", async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
    await logIn(page, token);
    expect(new URL(page.url()).pathname).toBe("/");
    expect(await page.textContent("#node-name")).toBe("browser-node");
    expect(await page.textContent("#readiness")).toBe("ready");
    expect(await page.locator("#cluster svg").count()).toBe(1);
    for (const p of PANELS) {
      const section = page.locator(`main > section#${p.id}`);
      expect(await section.getAttribute("aria-label"), p.id).toBe(p.title);
      expect(await section.isVisible(), p.id).toBe(true);
    }
    expect(await page.textContent("#config pre")).toContain("[admin]");
    const cookie = (await context.cookies()).find((c) => c.name === "unibus_session")!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe("Strict");
    expect(cookie.value).not.toBe(token);
    // The refresh script replaces #dash with a newer copy (its "updated" time changes).
    const before = await page.locator("#dash").evaluate((el) => { (el as HTMLElement).dataset.marker = "old"; return el.textContent; });
    await page.waitForFunction(() => document.getElementById("dash")?.dataset.marker !== "old", undefined, { timeout: 20_000 });
    expect(await page.textContent("#node-name")).toBe("browser-node");
    expect(before).toContain("browser-node");
    await page.screenshot({ path: join(ARTIFACTS, "admin-single-node.png"), fullPage: true });
    expect(cspViolations).toEqual([]);
    expect(await page.content()).not.toContain(token);
    await context.close();
  });

  test("the page works without JavaScript", async () => {
    const context = await browser!.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await logIn(page, token);
    expect(await page.textContent("#node-name")).toBe("browser-node");
    expect(await page.textContent("#jetstream h2")).toBe("JetStream");
    await context.close();
  });
});
