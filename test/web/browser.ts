// Real headless Chromium (Debian's package) driven by playwright-core, with a fresh profile.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Waits (up to `waitMs`) for the chromium package to finish installing, then launches it. */
export async function launchBrowser(waitMs = 120_000): Promise<Browser> {
  const until = Date.now() + waitMs;
  while (!existsSync(CHROMIUM)) {
    if (Date.now() > until) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const profile = mkdtempSync(join(tmpdir(), 'vr-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1500, height: 900 } });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
