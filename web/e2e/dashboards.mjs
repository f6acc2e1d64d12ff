// The dashboards in a real Chromium (Debian's, driven by playwright-core), against the real
// services a Rust system test started (system-tests/tests/web.rs). Two phases, so that the test
// can let the events settle in between:
//
//   node e2e/dashboards.mjs act   # the worker creates two tasks in the page and completes one
//   node e2e/dashboards.mjs look  # every dashboard as the worker and the admin see it
//
// Settings (environment): ATES_WEB_URL (the BFF), ADMIN_BEAK, WORKER_BEAK, MANAGER_BEAK,
// ATES_ANALYTICS_URL (for the forged call), ATES_SCREENSHOTS (a directory), CHROMIUM (the
// browser, /usr/bin/chromium). Each phase prints one JSON report of what the page showed on its
// last line; the Rust test checks it against the APIs.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const phase = process.argv[2];
const url = process.env.ATES_WEB_URL;
const shots = process.env.ATES_SCREENSHOTS ?? "screenshots";
mkdirSync(shots, { recursive: true });
const report = { phase, timings: {} };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});

async function signedIn(beak, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("pageerror", (error) => {
    report.pageErrors = [...(report.pageErrors ?? []), String(error)];
  });
  await page.goto(url);
  await page.getByLabel("Beak").fill(beak);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("who").waitFor();
  return { context, page };
}

/** Opens `screen` and waits for `ready`; records how long the first render took. */
async function open(page, screen, ready) {
  const started = Date.now();
  await page.goto(`${url}/#/${screen}`);
  await ready();
  report.timings[screen] = Date.now() - started;
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function navigation(page) {
  return page.getByRole("navigation", { name: "Screens" }).getByRole("link").allInnerTexts();
}

if (phase === "act") {
  const { page } = await signedIn(process.env.WORKER_BEAK);
  report.workerNavigation = await navigation(page);
  for (const [title, jira, description] of [
    ["Fix the button", "UBERPOP-42", "The big red one squeaks."],
    ["Oil the beak", "", "Weekly."],
  ]) {
    await page.getByLabel("Title").fill(title);
    await page.getByLabel("Jira id (optional)").fill(jira);
    await page.getByLabel("Description").fill(description);
    await page.getByRole("button", { name: "Create task" }).click();
    await page.getByRole("status").filter({ hasText: `Created` }).filter({ hasText: title }).waitFor();
  }
  // A bad title is refused by the tracker with a message naming the field.
  await page.getByLabel("Title").fill("[UBERPOP-1] brackets");
  await page.getByLabel("Description").fill("x");
  await page.getByRole("button", { name: "Create task" }).click();
  report.badTitle = await page.getByRole("alert").first().innerText();
  await page.reload();
  const open = page.locator("table").first();
  await open.getByText("UBERPOP-42 · Fix the button").waitFor();
  await shot(page, "tracker-worker");
  const row = open.locator("tr", { hasText: "Fix the button" });
  await row.getByRole("button", { name: "Mark done" }).click();
  await page.getByRole("status").filter({ hasText: "Done:" }).waitFor();
  report.done = await page.getByRole("status").innerText();
  // The worker cannot reach admin screens: asked for one, the page falls back to their first
  // screen and never calls analytics.
  const analyticsCalls = [];
  page.on("request", (request) => {
    if (request.url().includes("/ates.analytics.v1.AnalyticsService/")) {
      analyticsCalls.push(request.url());
    }
  });
  await page.goto(`${url}/#/accounting`);
  await page.getByRole("heading", { name: "My account", level: 2 }).waitFor();
  await page.goto(`${url}/#/analytics`);
  await page.getByRole("heading", { name: "Tasks", level: 2 }).waitFor();
  report.workerAtAnalytics = await page.getByRole("heading", { level: 2 }).innerText();
  report.workerAnalyticsCalls = analyticsCalls.length;
  // A forged call from the page, with the worker's own token, is refused by analytics itself.
  report.forged = await page.evaluate(async (analytics) => {
    const token = sessionStorage.getItem("ates.token");
    const response = await fetch(`${analytics}/ates.analytics.v1.AnalyticsService/GetSummary`, {
      method: "POST",
      headers: {
        "content-type": "application/grpc-web+proto",
        "x-grpc-web": "1",
        authorization: `Bearer ${token}`,
      },
      body: new Uint8Array([0, 0, 0, 0, 0]),
    });
    // The status is in the headers (a trailers-only answer) or in the trailer frame.
    const body = new TextDecoder().decode(await response.arrayBuffer());
    const inBody = /grpc-status:\s*(\d+)/.exec(body)?.[1] ?? null;
    return { http: response.status, grpcStatus: response.headers.get("grpc-status") ?? inBody };
  }, process.env.ATES_ANALYTICS_URL);
  // A token that stops working while a screen is open (it expired) sends the page back to
  // sign-in at its next call, saying why.
  await page.evaluate(() => sessionStorage.setItem("ates.token", "expired.token.value"));
  await page.goto(`${url}/#/accounting`);
  await page.getByLabel("Beak").waitFor();
  report.expired = await page.getByRole("status").innerText();
  // A phone's width.
  const phone = await signedIn(process.env.WORKER_BEAK, { width: 390, height: 844 });
  await phone.page.getByText("Oil the beak").first().waitFor();
  await shot(phone.page, "tracker-phone");
}

if (phase === "look") {
  const worker = await signedIn(process.env.WORKER_BEAK);
  await open(worker.page, "accounting", () => worker.page.getByTestId("closing").waitFor());
  await worker.page.locator("tr[data-kind='completion reward']").waitFor();
  report.workerClosing = await worker.page.getByTestId("closing").innerText();
  report.workerEntries = await worker.page
    .locator("tbody tr")
    .evaluateAll((rows) =>
      rows.map((row) => [...row.querySelectorAll("td")].slice(1).map((cell) => cell.innerText)),
    );
  await shot(worker.page, "accounting-worker");

  const admin = await signedIn(process.env.ADMIN_BEAK);
  report.adminNavigation = await navigation(admin.page);
  await open(admin.page, "management", () => admin.page.getByTestId("earnings-today").waitFor());
  await admin.page.locator("canvas").waitFor();
  report.managementEarnings = await admin.page.getByTestId("earnings-today").innerText();
  report.managementNegative = await admin.page.getByTestId("negative-count").innerText();
  report.managementBars = await admin.page.evaluate(() => document.querySelectorAll("canvas").length);
  report.managementBarValues = await admin.page.locator("canvas").getAttribute("data-values");
  await shot(admin.page, "accounting-management");
  await open(admin.page, "analytics", () => admin.page.getByTestId("analytics-earnings").waitFor());
  await admin.page.getByTestId("most-day").getByText("Fix the button").waitFor();
  report.analyticsEarnings = await admin.page.getByTestId("analytics-earnings").innerText();
  report.analyticsNegative = await admin.page.getByTestId("analytics-negative").innerText();
  report.analyticsMostToday = await admin.page.getByTestId("most-day").innerText();
  await admin.page.locator("canvas").waitFor();
  report.analyticsBarValues = await admin.page.locator("canvas").getAttribute("data-values");
  await shot(admin.page, "analytics");
  await open(admin.page, "payouts", () => admin.page.getByLabel("Business date").waitFor());
  await admin.page.locator("p.empty, table").first().waitFor();
  report.payoutsDate = await admin.page.getByLabel("Business date").inputValue();
  await admin.page.getByRole("button", { name: "Close this day" }).click();
  await admin.page.getByRole("button", { name: "Yes, close it" }).click();
  await admin.page.getByRole("status").filter({ hasText: "closed" }).waitFor();
  report.payoutsClosed = await admin.page.getByRole("status").innerText();
  await shot(admin.page, "payouts");

  // Last, as it moves money: the manager sees every task and reshuffles the open ones.
  const manager = await signedIn(process.env.MANAGER_BEAK);
  report.managerNavigation = await navigation(manager.page);
  const reshuffle = manager.page.getByRole("button", { name: "Reshuffle open tasks" });
  await open(manager.page, "tracker", () => reshuffle.waitFor());
  await reshuffle.click();
  await manager.page.getByRole("status").filter({ hasText: "Reassigned" }).waitFor();
  report.reshuffled = await manager.page.getByRole("status").innerText();
  await shot(manager.page, "tracker-manager");
}

await browser.close();
console.log(JSON.stringify(report));
