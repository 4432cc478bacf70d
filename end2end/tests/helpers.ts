import { expect, type ConsoleMessage, type Page } from "@playwright/test";

// Collects browser errors so a page that renders but fails to hydrate cannot pass.
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (msg: ConsoleMessage) => {
    if (msg.type() === "error") errors.push(msg.text());
  });
  page.on("pageerror", (err) => errors.push(err.message));
  return errors;
}

// The app marks <body> once the WASM has wired up the page; click nothing before that.
export async function hydrated(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

// Signs up through the server function; the page's context keeps the session cookie.
export async function signUp(page: Page, name: string, timezone = "UTC") {
  const email = `${name.toLowerCase()}-${Date.now()}@example.com`;
  const response = await page.request.post("/api/sign_up", {
    form: { email, password: "correct horse battery", name, timezone },
    headers: { accept: "application/json" },
  });
  expect(response.status(), await response.text()).toBe(200);
}

// A day (YYYY-MM-DD) in `timeZone`, `days` from today.
export function dayIn(timeZone: string, days: number): string {
  return new Date(Date.now() + days * 86_400_000).toLocaleDateString("sv-SE", { timeZone });
}

// Saves a screenshot as a test artifact (end2end/test-results/…).
export async function shoot(page: Page, testInfo: { outputPath(name: string): string; attach(name: string, o: { path: string; contentType: string }): Promise<void> }, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: "image/png" });
}
