// Headless Chromium for the report tests: finds a browser (Debian's `chromium` or $CHROMIUM), prints the DOM
// after load (--dump-dom) and takes screenshots, with a throwaway profile and every host name unresolvable
// (the page must need no network).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** The first browser that answers --version: $CHROMIUM, chromium, chromium-browser, google-chrome; null if none. */
export function findChromium(): string | null {
  const candidates = [
    process.env.CHROMIUM,
    "chromium",
    "chromium-browser",
    "google-chrome-stable",
    "google-chrome",
  ].filter((c): c is string => !!c);
  for (const c of candidates) {
    const r = spawnSync(c, ["--version"], { encoding: "utf8", timeout: 20_000 });
    if (r.status === 0) return c;
  }
  return null;
}

function runChromium(browser: string, args: string[]): string {
  const profile = mkdtempSync(join(tmpdir(), "tfew-chromium-"));
  try {
    const r = spawnSync(
      browser,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--hide-scrollbars",
        `--user-data-dir=${profile}`,
        "--host-resolver-rules=MAP * ~NOTFOUND",
        ...args,
      ],
      { encoding: "utf8", timeout: 90_000, maxBuffer: 64 << 20 },
    );
    if (r.status !== 0)
      throw new Error(`${browser} ${args.join(" ")} exited with ${r.status ?? r.signal}:\n${r.stderr}`);
    return r.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The serialized DOM of an HTML file after it loaded (and its scripts ran). */
export function dumpDom(browser: string, htmlFile: string): string {
  return runChromium(browser, ["--dump-dom", pathToFileURL(htmlFile).href]);
}

/** A PNG screenshot of an HTML file at width × height CSS pixels. */
export function screenshot(
  browser: string,
  htmlFile: string,
  png: string,
  size: { width: number; height: number; scale?: number },
): void {
  runChromium(browser, [
    `--window-size=${size.width},${size.height}`,
    `--force-device-scale-factor=${size.scale ?? 1}`,
    `--screenshot=${png}`,
    pathToFileURL(htmlFile).href,
  ]);
}
