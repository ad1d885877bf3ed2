// The API explorer in headless Chromium (Debian's, driven by Playwright): opens /docs, finds
// every operation (screenshot SCREENSHOT_PATH), runs "Try it out" on the list operation,
// reads the rendered response (the whole page in SCREENSHOT_PATH's -try-it-out.png, the
// response in -response.png), and follows a browser's visit to an API path to the
// explorer. Every request the page makes is watched: one to anything but the gateway is aborted and listed.
// Prints one JSON object (what it saw) on stdout; tests/docs.rs asserts on it.
// Usage: node tests/browser/docs.mjs BASE_URL SCREENSHOT_PATH
import { chromium } from "playwright-core";

const [base, screenshot] = process.argv.slice(2);
if (!base || !screenshot) {
  console.error("usage: node docs.mjs BASE_URL SCREENSHOT_PATH");
  process.exit(2);
}
const gateway = new URL(base).host;
const WAIT = { timeout: 20000 };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const seen = { offsite: [], errors: [], requests: 0 };
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1400 } });
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.host !== gateway) {
      seen.offsite.push(url.href);
      return route.abort();
    }
    seen.requests += 1;
    return route.continue();
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => seen.errors.push(`page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && seen.errors.push(`console: ${m.text()}`));

  // The explorer and every operation it lists.
  const docs = await page.goto(`${base}/docs`);
  seen.docs_status = docs.status();
  seen.csp = docs.headers()["content-security-policy"] ?? null;
  await page.waitForSelector(".opblock", WAIT);
  seen.title = await page.locator(".info .title").first().innerText();
  seen.operations = await page.$$eval(".opblock", (blocks) =>
    blocks.map((b) => {
      const method = b.querySelector(".opblock-summary-method")?.textContent ?? "";
      const path = b.querySelector(".opblock-summary-path")?.getAttribute("data-path") ?? "";
      return `${method.trim().toUpperCase()} ${path}`;
    }));
  const document = await (await page.request.get(`${base}/openapi.json`)).json();
  seen.documented = Object.entries(document.paths).flatMap(([path, item]) =>
    Object.keys(item).filter((k) => k !== "parameters").map((m) => `${m.toUpperCase()} ${path}`));

  await page.screenshot({ path: screenshot });

  // "Try it out" on the list operation, and the response Swagger UI renders.
  const list = page.locator("#operations-default-list_users");
  await list.locator(".opblock-summary").click();
  await list.locator(".try-out__btn").click();
  await list.locator(".execute").click();
  const live = list.locator(".live-responses-table .response");
  await live.first().waitFor(WAIT);
  seen.list_status = (await live.first().locator(".response-col_status").innerText()).trim();
  seen.list_body = await list.locator(".live-responses-table .response-col_description pre").first().innerText();
  seen.list_url = (await list.locator(".request-url pre").first().innerText()).trim();
  await page.screenshot({ path: screenshot.replace(/\.png$/, "-try-it-out.png"), fullPage: true });
  await list.locator(".responses-inner > div").first()
    .screenshot({ path: screenshot.replace(/\.png$/, "-response.png") });

  // A browser's own visit to an API path: sent to the explorer, at that operation.
  const visit = await context.newPage();
  await visit.goto(`${base}/api/users/1/`);
  await visit.waitForSelector("#operations-default-retrieve_users.is-open", WAIT);
  seen.visit_url = visit.url();
  seen.visit_open = await visit.locator(".opblock.is-open").count();
} catch (e) {
  seen.failure = String(e?.stack ?? e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
