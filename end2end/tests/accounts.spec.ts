import { expect, test } from "@playwright/test";
import { hydrated, watchConsole } from "./helpers";

const PASSWORD = "correct horse battery";

test("sign up, second workspace, invite a teammate, log out and back in", async ({ page, browser }, testInfo) => {
  const errors = watchConsole(page);
  const run = Date.now();
  const ada = `ada-${run}@example.com`;
  const bob = `bob-${run}@example.com`;

  // Sign up: lands on the dashboard in the personal workspace.
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Name").fill("Ada Lovelace");
  await page.getByLabel("E-mail").fill(ada);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await hydrated(page);
  await expect(page.getByTestId("current-workspace")).toHaveText("You are in Ada's workspace as owner.");
  const switcher = page.getByRole("combobox", { name: "Switch workspace" });
  await expect(switcher.locator("option:checked")).toHaveText("Ada's workspace");

  // A second workspace, created from the switcher's "New workspace" entry.
  await switcher.selectOption({ label: "+ New workspace…" });
  await expect(page).toHaveURL(/\/settings\/workspace/);
  await hydrated(page);
  const newWorkspace = page.getByRole("form", { name: "New workspace" });
  await newWorkspace.getByLabel("Name").fill("Acme Launch");
  await newWorkspace.getByRole("button", { name: "Create workspace" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("current-workspace")).toHaveText("You are in Acme Launch as owner.");

  // Switch back and forth; each choice sticks across page loads.
  await hydrated(page);
  await page.getByRole("combobox", { name: "Switch workspace" }).selectOption({ label: "Ada's workspace" });
  await expect(page.getByTestId("current-workspace")).toHaveText("You are in Ada's workspace as owner.");
  await page.reload();
  await expect(page.getByTestId("current-workspace")).toHaveText("You are in Ada's workspace as owner.");
  await hydrated(page);
  await page.getByRole("combobox", { name: "Switch workspace" }).selectOption({ label: "Acme Launch" });
  await expect(page.getByTestId("current-workspace")).toHaveText("You are in Acme Launch as owner.");

  // Invite Bob as an editor; the link is shown to copy.
  await page.goto("/settings/members");
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Members of Acme Launch" })).toBeVisible();
  const inviteForm = page.getByRole("form", { name: "Invite" });
  await inviteForm.getByLabel("E-mail").fill(bob);
  await inviteForm.getByLabel("Role").selectOption("editor");
  await inviteForm.getByRole("button", { name: "Create invite link" }).click();
  const linkField = page.getByRole("textbox", { name: "Invite link" });
  await expect(linkField).toHaveValue(/\/invite\/[A-Za-z0-9_-]{43}$/);
  const link = await linkField.inputValue();
  await expect(page.getByText(`${bob} · editor`)).toBeVisible();

  // Bob, in another browser context, opens the link, signs up and joins.
  const bobContext = await browser.newContext();
  const bobPage = await bobContext.newPage();
  const bobErrors = watchConsole(bobPage);
  await bobPage.goto(link);
  await hydrated(bobPage);
  await expect(bobPage.getByRole("heading", { name: "Join Acme Launch" })).toBeVisible();
  await bobPage.getByRole("link", { name: "Sign up to accept" }).click();
  await expect(bobPage).toHaveURL(/\/signup\?next=/);
  await hydrated(bobPage);
  await bobPage.getByLabel("Name").fill("Bob Builder");
  await bobPage.getByLabel("E-mail").fill(bob);
  await bobPage.getByLabel("Password").fill(PASSWORD);
  await bobPage.getByRole("button", { name: "Create account" }).click();
  await expect(bobPage).toHaveURL(/\/invite\//);
  await hydrated(bobPage);
  await bobPage.getByRole("button", { name: "Join Acme Launch" }).click();
  await expect(bobPage).toHaveURL(/\/dashboard$/);
  await expect(bobPage.getByTestId("current-workspace")).toHaveText("You are in Acme Launch as editor.");
  // The link is single-use.
  await bobPage.goto(link);
  await expect(bobPage.getByRole("alert")).toHaveText(
    "This invitation has already been used. Log in to reach the workspace.",
  );
  expect(bobErrors, bobErrors.join("\n")).toEqual([]);
  await bobContext.close();

  // Ada sees Bob among the members.
  await page.reload();
  await expect(page.getByText(bob, { exact: true })).toBeVisible();
  await expect(page.getByRole("combobox", { name: "Role of Bob Builder" })).toHaveValue("editor");

  const shot = testInfo.outputPath("members.png");
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach("members", { path: shot, contentType: "image/png" });

  // Log out, then back in.
  await hydrated(page);
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/login\?next=\/dashboard$/);
  await hydrated(page);
  await page.getByLabel("E-mail").fill(ada);
  await page.getByLabel("Password").fill("not my password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toHaveText("That e-mail and password do not match an account.");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByText("Welcome, Ada.")).toBeVisible();
  // The one failed request is the wrong password above (401), which the browser logs.
  const unexpected = errors.filter((e) => !/status of 401 \(Unauthorized\)/.test(e));
  expect(unexpected, unexpected.join("\n")).toEqual([]);
});
