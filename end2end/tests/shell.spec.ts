import { expect, test } from "@playwright/test";
import { hydrated, signUp, watchConsole } from "./helpers";

test("landing page hydrates: the auto-plug demo reacts to clicks", async ({ page }, testInfo) => {
  const errors = watchConsole(page);
  const response = await page.goto("/");
  // Hydration runs under the page's Content-Security-Policy: a script without the nonce would
  // be refused, and Chromium reports that as a console error (checked at the end).
  expect(response?.headers()["content-security-policy"]).toContain("'nonce-");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Plug your product every time a post takes off.");
  await hydrated(page);

  await expect(page.getByText("Plug waiting: 3 more likes to go.")).toBeVisible();
  const like = page.getByRole("button", { name: "Like" });
  await like.click();
  await expect(page.getByText("1 like", { exact: true })).toBeVisible();
  await expect(page.getByText("Plug waiting: 2 more likes to go.")).toBeVisible();
  await like.click();
  await like.click();
  // Only the WASM app can make this appear: the server rendered the "waiting" state.
  await expect(page.getByRole("status").filter({ hasText: "Plug fired" })).toBeVisible();
  await expect(page.getByText("Plug waiting")).toHaveCount(0);

  // Raising the threshold hides the plug again until enough likes arrive.
  await page.getByRole("spinbutton", { name: "Likes needed" }).fill("5");
  await expect(page.getByText("Plug waiting: 2 more likes to go.")).toBeVisible();

  const shot = testInfo.outputPath("landing.png");
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach("landing", { path: shot, contentType: "image/png" });
  expect(errors, errors.join("\n")).toEqual([]);
});

test("sidebar navigates between sections and collapses to icons", async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page, "Nav");
  await page.goto("/dashboard");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Dashboard");
  // The dashboard asks the server (a server function) whether posts can go out.
  await expect(page.getByRole("status").filter({ hasText: /All systems go|No worker/ })).toBeVisible();
  await expect(page.getByText("All systems go: 1 worker is publishing.")).toBeVisible();

  const nav = page.getByRole("navigation");
  await nav.getByRole("link", { name: "Schedule" }).click();
  await expect(page).toHaveURL(/\/schedule$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Schedule");
  await expect(nav.getByRole("link", { name: "Schedule" })).toHaveAttribute("aria-current", "page");
  await expect(page).toHaveTitle("Schedule · OmniPlug");

  const toggle = page.getByRole("button", { name: "Toggle sidebar" });
  await expect(toggle).toHaveAttribute("aria-expanded", "true");
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  await expect(nav.getByText("Schedule", { exact: true })).toBeHidden();
  expect(errors, errors.join("\n")).toEqual([]);
});

test("unknown addresses show the 404 page", async ({ page }) => {
  const response = await page.goto("/definitely/not/here");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("This page does not exist");
  // Logged out, the dashboard link leads to the login page, which returns there afterwards.
  await page.getByRole("link", { name: "Go to the dashboard" }).click();
  await expect(page).toHaveURL(/\/login\?next=\/dashboard$/);
});
