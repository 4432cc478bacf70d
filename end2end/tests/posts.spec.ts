import { expect, test, type Page } from "@playwright/test";
import { dayIn, hydrated, shoot, signUp, watchConsole } from "./helpers";

const ZONE = "Europe/Paris";

async function connectSandbox(page: Page) {
  await page.goto("/connections");
  await hydrated(page);
  const sandbox = page.getByTestId("network-sandbox");
  await sandbox.getByRole("button", { name: "Connect a Sandbox account" }).click();
  await expect(sandbox.getByTestId("connection")).toHaveCount(1);
}

// A day whose next day is in the same Monday–Sunday week (so one week view shows both).
function dayWithNextInSameWeek(): [string, string] {
  for (let d = 1; d < 8; d++) {
    const day = dayIn(ZONE, d);
    const weekday = new Date(`${day}T12:00:00Z`).getUTCDay(); // 0 = Sunday
    if (weekday !== 0) return [day, dayIn(ZONE, d + 1)];
  }
  throw new Error("no such day");
}

test("compose with a likes plug, schedule, drag to the next day, publish now, and watch the plug fire", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  await signUp(page, "Cora", ZONE);
  await connectSandbox(page);

  await page.goto("/compose");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Compose");
  // The only account is picked already; its counter and preview follow the text.
  const text = `Launch day ${Date.now()}: OmniPlug schedules once and plugs when a post takes off https://omniplug.example`;
  await page.getByTestId("post-text").fill(text);
  await expect(page.getByTestId("counter-sandbox")).toContainText("/500");
  await expect(page.getByTestId("preview-sandbox")).toContainText("Launch day");
  await page.getByTestId("plug-toggle-sandbox").check();
  await page.getByTestId("plug-text-sandbox").fill("Glad you like it! Try OmniPlug free: https://omniplug.example/start");
  await page.getByTestId("plug-trigger-sandbox").selectOption("likes");
  await page.getByTestId("plug-value-sandbox").fill("5");
  await expect(page.getByTestId("preview-sandbox")).toContainText("Replies once the post has 5 likes.");

  const [day, nextDay] = dayWithNextInSameWeek();
  await page.getByTestId("schedule-at").fill(`${day}T10:00`);
  // The server reads the time in the person's zone and shows it in UTC too.
  await expect(page.getByTestId("time-check")).toContainText("UTC");
  await shoot(page, testInfo, "composer");

  // Ctrl+Enter schedules; the calendar opens on that week with the post's drawer.
  await page.getByTestId("post-text").press("Control+Enter");
  await expect(page).toHaveURL(/\/schedule\?view=week/);
  await hydrated(page);
  const chip = page.locator(`[data-slot="${day}T10:00"] [data-testid="calendar-chip"]`);
  await expect(chip).toHaveCount(1);
  await expect(page.getByTestId("drawer")).toContainText("Scheduled");
  await expect(page.getByRole("button", { name: "Close" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("drawer")).toHaveCount(0);

  // Drag it to the same time the next day: it moves at once and the server keeps it.
  const target = page.locator(`[data-slot="${nextDay}T10:00"]`);
  await chip.dragTo(target);
  await expect(page.getByTestId("toasts")).toContainText("Moved to");
  await expect(target.getByTestId("calendar-chip")).toHaveCount(1);
  await page.reload();
  await hydrated(page);
  const moved = page.locator(`[data-slot="${nextDay}T10:00"] [data-testid="calendar-chip"]`);
  await expect(moved).toHaveCount(1);
  await expect(page.locator(`[data-slot="${day}T10:00"] [data-testid="calendar-chip"]`)).toHaveCount(0);
  await shoot(page, testInfo, "calendar-week");

  // Publish now from the drawer: the worker sends it and the drawer shows the live link.
  await moved.click();
  const drawer = page.getByTestId("drawer");
  await drawer.getByTestId("publish-now").click();
  await expect(drawer.getByTestId("post-details")).toHaveAttribute("data-status", "PUBLISHED", { timeout: 20_000 });
  const link = drawer.getByTestId("target-link");
  await expect(link).toBeVisible();
  await expect(drawer.getByTestId("plug-story")).toContainText("Waiting for 5 likes");

  // The Sandbox's audience likes it past the threshold; the worker's next read fires the plug.
  // Only a member of the post's workspace may do that, through the server function; the
  // Sandbox itself no longer takes audience changes from anyone.
  const href = (await link.getAttribute("href"))!;
  const anonymous = await page.request.post("/sandbox-network/_audience", { data: { post: href, likes: 12 } });
  expect(anonymous.status()).toBe(404);
  const workspaceId = (await page.getByRole("combobox", { name: "Switch workspace" }).locator("option:checked").getAttribute("value"))!;
  const liked = await page.request.post("/api/sandbox_audience", {
    form: { workspace_id: workspaceId, post: href, likes: "12" },
    headers: { accept: "application/json" },
  });
  expect(liked.status(), await liked.text()).toBe(200);
  await expect(drawer.getByTestId("plug-story")).toContainText("Fired", { timeout: 45_000 });
  await expect(drawer.getByTestId("plug-link")).toBeVisible();
  await expect(drawer.getByTestId("counts")).toContainText("12 likes");

  await page.keyboard.press("Escape");
  await page.goto(`/schedule?view=month&day=${nextDay}`);
  await hydrated(page);
  await expect(page.getByTestId("month-view")).toBeVisible();
  await shoot(page, testInfo, "calendar-month");

  await page.goto("/dashboard");
  await hydrated(page);
  await expect(page.getByTestId("tile-published")).toHaveText("1");
  await expect(page.getByTestId("tile-plugs")).toHaveText("1");
  await expect(page.getByText("Plug fired")).toBeVisible();
  await shoot(page, testInfo, "dashboard");

  await page.goto(`/posts?q=${encodeURIComponent("Launch day")}`);
  await hydrated(page);
  await expect(page.getByTestId("post-list")).toContainText("Launch day");

  // Down to a phone's width nothing spills sideways out of the page.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [path, name] of [["/dashboard", "phone-dashboard"], ["/compose", "phone-composer"], [`/schedule?view=month&day=${nextDay}`, "phone-calendar"]]) {
    await page.goto(path);
    await hydrated(page);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width, `${path} is ${width}px wide`).toBeLessThanOrEqual(391);
    await shoot(page, testInfo, name);
  }
  expect(errors, errors.join("\n")).toEqual([]);
});

test("a too-long X post and a time the clocks skip are refused with the reason next to the field", async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page, "Xavier", ZONE);
  // X through its consent popup (the e2e server's X app is its own Sandbox speaking X's API).
  await page.goto("/connections");
  await hydrated(page);
  const popupOpened = page.waitForEvent("popup");
  await page.getByTestId("network-x").getByRole("button", { name: "Connect X" }).click();
  await (await popupOpened).waitForEvent("close");
  await expect(page.getByTestId("network-x").getByTestId("connection")).toHaveCount(1);

  await page.goto("/compose");
  await hydrated(page);
  await page.getByTestId("post-text").fill("a".repeat(290));
  const counter = page.getByTestId("counter-x");
  await expect(counter).toHaveText(/290\/280/);
  await expect(counter).toHaveClass(/counter--over/);
  await expect(page.getByTestId("preview-x").locator("mark.overflow")).toHaveText("a".repeat(10));

  await page.getByTestId("schedule-at").fill(`${dayIn(ZONE, 2)}T09:00`);
  await page.getByRole("button", { name: "Schedule" }).click();
  await expect(page.getByTestId("text-error")).toContainText("280");

  // 02:30 on 28 March 2027 does not exist in Paris: the clocks jump from 02:00 to 03:00.
  await page.getByTestId("post-text").fill("Short enough.");
  await page.getByTestId("schedule-at").fill("2027-03-28T02:30");
  await expect(page.getByTestId("time-warning")).toContainText("does not exist");
  await page.getByRole("button", { name: "Schedule" }).click();
  await expect(page.getByTestId("schedule-error")).toContainText("clocks skip");
  expect(errors.filter((e) => !e.includes("400")), errors.join("\n")).toEqual([]);
});
