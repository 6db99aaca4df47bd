/**
 * admin-fixtures.ts is what the admin browser tests share: Debian's Chromium
 * (driven by playwright-core), its flags for a headless CI machine, and where
 * screenshots go.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { ROOT, prerequisite } from "./_helpers.ts";

/** CHROMIUM is Debian's chromium package binary. */
export const CHROMIUM = "/usr/bin/chromium";
/** CHROMIUM_ARGS keep a headless Chromium quiet and off the network. */
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
/** ARTIFACTS is the git-ignored folder for screenshots. */
export const ARTIFACTS = join(ROOT, "tests", "artifacts");

/** haveChromium checks the prerequisite: in CI a missing chromium fails the test file. */
export function haveChromium(): boolean {
  return prerequisite(existsSync(CHROMIUM), `Debian's chromium at ${CHROMIUM} (apt-get install chromium)`);
}

/** launchChromium starts a headless Chromium and makes sure the artifacts folder exists. */
export async function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}
