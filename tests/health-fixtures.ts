/**
 * health-fixtures.ts is what the health tests share: run `unibus status` on a
 * node and keep its words and exit code, read a node's /readyz, JSON API and
 * /metrics with its admin token, and read the problems off its page in
 * Chromium after logging in like a user.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { BIN_X64 } from "./_helpers.ts";

/** NodeFiles is what a test knows about a node: its config file and data dir. */
export interface NodeFiles { config: string; dataDir: string }

/** STATUS_CODES are `unibus status`'s documented exit codes. */
export const STATUS_CODES = { healthy: 0, degraded: 3, broken: 4 } as const;

/** status runs `unibus status` (text and --json) against a node. */
export async function status(node: NodeFiles, wrap: string[] = []): Promise<{ code: number; text: string; json: any }> {
  const run = async (extra: string[]) => {
    const p = Bun.spawn([...wrap, BIN_X64, "status", "--config", node.config, ...extra], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, out: out + err };
  };
  const [text, json] = await Promise.all([run([]), run(["--json"])]);
  let parsed: unknown;
  try { parsed = JSON.parse(json.out); } catch { parsed = undefined; }
  return { code: text.code, text: text.out, json: parsed };
}

/** adminOf reads a node's admin address (from its config) and token (from its data dir). */
export function adminOf(node: NodeFiles): { base: string; token: string } {
  const m = /\[admin\][^[]*?listen = "([^"]+)"/.exec(readFileSync(node.config, "utf8"));
  if (!m) throw new Error(`no [admin] listen in ${node.config}`);
  return { base: `http://${m[1]}`, token: readFileSync(join(node.dataDir, "admin.token"), "utf8").trim() };
}

/** api reads one JSON API document with the token. */
export async function api<T = any>(node: NodeFiles, path: string): Promise<T> {
  const { base, token } = adminOf(node);
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  return (await res.json()) as T;
}

/** readyz is the status code and body of /readyz (no token, as a load balancer asks). */
export async function readyz(node: NodeFiles): Promise<{ status: number; body: any }> {
  const res = await fetch(`${adminOf(node).base}/readyz`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.json() };
}

/** metrics is the /metrics text. */
export async function metrics(node: NodeFiles): Promise<string> {
  const { base, token } = adminOf(node);
  return (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) })).text();
}

/** gauge reads one sample of a metric with the given labels (all of them must match); undefined when absent. */
export function gauge(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

/** pageHealth logs in to a node's admin page in Chromium and returns what the health panel at the top says. */
export async function pageHealth(browser: Browser, node: NodeFiles, screenshot?: string): Promise<{ verdict: string; problems: { kind: string; severity: string; text: string }[]; firstSection: string; page: import("playwright-core").Page }> {
  const { base, token } = adminOf(node);
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  await page.fill("#token", token);
  await Promise.all([page.waitForLoadState("load"), page.click("button[type=submit]")]);
  const verdict = (await page.getAttribute("#health", "data-verdict")) ?? "";
  const problems = await page.locator("#problems li.problem").evaluateAll((els) => els.map((e) => ({ kind: e.getAttribute("data-kind") ?? "", severity: e.getAttribute("data-severity") ?? "", text: (e as HTMLElement).innerText })));
  const firstSection = (await page.locator("main > section").first().getAttribute("id")) ?? "";
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  return { verdict, problems, firstSection, page };
}

/** AS_HOST runs a command in its own UTS namespace under another host name (root only), as on a fresh Raspberry Pi. */
export function asHost(hostname: string): string[] {
  return ["unshare", "--uts", "--", "sh", "-c", `hostname ${hostname} && exec "$0" "$@"`];
}

/** canUnshareUts tells whether this machine lets a test give a process its own host name. */
export function canUnshareUts(): boolean {
  const p = Bun.spawnSync([...asHost("probe-host"), "hostname"], { stdout: "pipe", stderr: "pipe" });
  return p.exitCode === 0 && p.stdout.toString().trim() === "probe-host";
}

/** HostedNode is a unibus started under its own host name, its output collected. */
export class HostedNode {
  readonly proc: import("bun").Subprocess<"ignore", "pipe", "pipe">;
  log = "";

  constructor(hostname: string, config: string, cwd?: string) {
    this.proc = Bun.spawn([...asHost(hostname), BIN_X64, "--config", config], { stdin: "ignore", stdout: "pipe", stderr: "pipe", ...(cwd ? { cwd } : {}) });
    const pump = async (s: ReadableStream<Uint8Array>) => {
      const dec = new TextDecoder();
      for await (const chunk of s) this.log += dec.decode(chunk, { stream: true });
    };
    void pump(this.proc.stdout);
    void pump(this.proc.stderr);
  }

  /** ready waits for "unibus ready" or fails with the log. */
  async ready(timeoutMs = 120_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!/msg="?unibus ready/.test(this.log)) {
      if (this.proc.exitCode !== null) throw new Error(`unibus exited (${this.proc.exitCode}):\n${this.log}`);
      if (Date.now() > until) throw new Error(`not ready in time:\n${this.log}`);
      await Bun.sleep(100);
    }
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 60_000);
    await this.proc.exited;
    clearTimeout(t);
  }
}
