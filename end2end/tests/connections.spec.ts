import { expect, test, type APIRequestContext } from "@playwright/test";
import { hydrated, signUp, watchConsole } from "./helpers";

// An account with an app password on the local Bluesky network `make test` runs.
async function blueskyAccount(request: APIRequestContext, pds: string) {
  const handle = `e2e${Date.now().toString(36)}.test`;
  const created = await request.post(`${pds}/xrpc/com.atproto.server.createAccount`, {
    data: { handle, email: `${handle}@example.com`, password: "main-password-123" },
  });
  expect(created.status(), await created.text()).toBe(200);
  const { accessJwt } = await created.json();
  const app = await request.post(`${pds}/xrpc/com.atproto.server.createAppPassword`, {
    data: { name: "omniplug" },
    headers: { authorization: `Bearer ${accessJwt}` },
  });
  expect(app.status(), await app.text()).toBe(200);
  return { handle, appPassword: (await app.json()).password as string };
}

test("connect X in a popup, the Sandbox and a Bluesky account from the Connections page, then disconnect one", async ({ page }) => {
  const pds = process.env.ATPROTO_PDS_URL;
  test.skip(!pds && process.env.OMNIPLUG_REQUIRE_BLUESKY !== "1", "no local Bluesky network (make test starts one)");
  expect(pds, "ATPROTO_PDS_URL").toBeTruthy();
  const errors = watchConsole(page);
  await signUp(page, "Connie");
  await page.goto("/connections");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Connections");

  // Networks without an app configured say what to set instead of offering a broken button.
  const linkedin = page.getByTestId("network-linkedin");
  await expect(linkedin.getByTestId("not-configured")).toContainText("OMNIPLUG_LINKEDIN_CLIENT_ID");
  await expect(linkedin.getByRole("button")).toHaveCount(0);

  // X (here the Sandbox speaking X's API): consent happens in a popup, which reports back to
  // this page and closes; the card updates without a reload.
  const x = page.getByTestId("network-x");
  const popupOpened = page.waitForEvent("popup");
  await x.getByRole("button", { name: "Connect X" }).click();
  const popup = await popupOpened;
  await popup.waitForEvent("close");
  await expect(page.getByTestId("connect-flash")).toContainText("on X.");
  await expect(x.getByTestId("connection")).toHaveCount(1);
  await expect(x.getByTestId("connection")).toContainText("Active");

  // The Sandbox: one click, clearly labelled as simulated.
  const sandbox = page.getByTestId("network-sandbox");
  await expect(sandbox.getByText("Simulated", { exact: true })).toBeVisible();
  await expect(sandbox.getByText("No account connected yet.")).toBeVisible();
  await sandbox.getByRole("button", { name: "Connect a Sandbox account" }).click();
  await expect(page.getByTestId("connect-flash")).toContainText(/Connected @you-[a-z0-9]+\.sandbox on Sandbox\./);
  await expect(sandbox.getByTestId("connection")).toHaveCount(1);
  await expect(sandbox.getByTestId("connection")).toContainText("Active");

  // Bluesky with an app password, on the local server (the "self-hosted" field).
  const { handle, appPassword } = await blueskyAccount(page.request, pds!);
  const bluesky = page.getByTestId("network-bluesky");
  await bluesky.getByLabel("Handle").fill(handle);
  await bluesky.getByLabel("App password").fill("wrong-pass-word");
  await bluesky.getByLabel("Server (optional)").fill(pds!);
  await bluesky.getByRole("button", { name: "Connect Bluesky" }).click();
  await expect(bluesky.getByRole("alert")).toContainText("Bluesky did not accept the credentials");
  await bluesky.getByLabel("App password").fill(appPassword);
  await bluesky.getByRole("button", { name: "Connect Bluesky" }).click();
  await expect(bluesky.getByTestId("connection")).toHaveCount(1);
  await expect(bluesky.getByTestId("connection")).toContainText(`@${handle}`);
  await expect(bluesky.getByTestId("connection")).toContainText("Active");

  // Disconnect the Sandbox account (after confirming).
  page.once("dialog", (dialog) => dialog.accept());
  await sandbox.getByRole("button", { name: /^Disconnect / }).click();
  await expect(sandbox.getByTestId("connection")).toHaveCount(0);
  await expect(sandbox.getByText("No account connected yet.")).toBeVisible();
  await expect(bluesky.getByTestId("connection")).toHaveCount(1);

  // It stays that way after a reload (the server agrees).
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("network-sandbox").getByTestId("connection")).toHaveCount(0);
  await expect(page.getByTestId("network-bluesky").getByTestId("connection")).toHaveCount(1);
  // The one failed request is the wrong app password above (400), which the browser logs.
  const unexpected = errors.filter((e) => !/status of 400 \(Bad Request\)/.test(e));
  expect(unexpected, unexpected.join("\n")).toEqual([]);
  expect(errors.length, "exactly the one refused attempt").toBe(1);
});
