import { expect, test, type Page } from "@playwright/test";
import { dayIn, hydrated, shoot, signUp, watchConsole } from "./helpers";

const ZONE = "Europe/Paris";

// Drops a freshly drawn PNG onto `selector`, as dragging a file from the desktop does.
async function dropImage(page: Page, testId: string, name: string) {
  await page.getByTestId(testId).evaluate(async (target, fileName) => {
    const canvas = document.createElement("canvas");
    canvas.width = 240;
    canvas.height = 160;
    const ctx = canvas.getContext("2d")!;
    ctx.fillStyle = "#3366cc";
    ctx.fillRect(0, 0, 240, 160);
    ctx.fillStyle = "#ffcc00";
    ctx.fillRect(40, 40, 160, 80);
    const blob: Blob = await new Promise((resolve) => canvas.toBlob((b) => resolve(b!), "image/png"));
    const data = new DataTransfer();
    data.items.add(new File([blob], fileName, { type: "image/png" }));
    target.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
  }, name);
}

test("drop an image into the composer, describe it, schedule, publish now, and see it on the post", async ({ page }, testInfo) => {
  test.setTimeout(90_000);
  const errors = watchConsole(page);
  await signUp(page, "Mira", ZONE);
  await page.goto("/connections");
  await hydrated(page);
  const sandbox = page.getByTestId("network-sandbox");
  await sandbox.getByRole("button", { name: "Connect a Sandbox account" }).click();
  await expect(sandbox.getByTestId("connection")).toHaveCount(1);

  await page.goto("/compose");
  await hydrated(page);
  await page.getByTestId("post-text").fill(`Our new cover art ${Date.now()}`);
  await dropImage(page, "media-strip", "cover.png");

  // It uploads, the server's thumbnail appears in the strip and in the preview.
  const tile = page.getByTestId("media-tile");
  await expect(tile).toHaveCount(1);
  await expect(tile.locator("img")).toBeVisible({ timeout: 15_000 });
  await expect(tile).toContainText("cover.png");
  await expect(tile).toContainText("240×160");
  expect(await tile.locator("img").evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  await expect(page.getByTestId("preview-sandbox").locator(".preview__media img")).toHaveCount(1);
  // Alone in the strip it cannot move; it can be removed.
  await expect(tile.getByRole("button", { name: "Move cover.png earlier" })).toBeDisabled();
  await expect(tile.getByRole("button", { name: "Move cover.png later" })).toBeDisabled();
  await expect(tile.getByRole("button", { name: "Remove cover.png" })).toBeVisible();
  await tile.getByTestId("media-alt").fill("A yellow bar on blue");

  // A second one: moved in front (its alt text travels with it), then removed.
  await dropImage(page, "media-strip", "second.png");
  const tiles = page.getByTestId("media-tile");
  await expect(tiles).toHaveCount(2);
  await expect(tiles.nth(1).locator("img")).toBeVisible({ timeout: 15_000 });
  await page.getByRole("button", { name: "Move second.png earlier" }).click();
  await expect(tiles.nth(0)).toContainText("second.png");
  await expect(tiles.nth(1).getByTestId("media-alt")).toHaveValue("A yellow bar on blue");
  await expect(page.getByTestId("preview-sandbox").locator(".preview__media img")).toHaveCount(2);
  await page.getByRole("button", { name: "Remove second.png" }).click();
  await expect(tiles).toHaveCount(1);
  await page.getByTestId("schedule-at").fill(`${dayIn(ZONE, 2)}T11:00`);
  await expect(page.getByTestId("time-check")).toContainText("UTC");
  await shoot(page, testInfo, "composer-with-image");

  await page.getByRole("button", { name: "Schedule" }).click();
  await expect(page).toHaveURL(/\/schedule\?.*post=/);
  await hydrated(page);
  const postId = new URL(page.url()).searchParams.get("post")!;
  const drawer = page.getByTestId("drawer");
  await expect(drawer.getByTestId("post-media").locator("img")).toHaveAttribute("alt", "A yellow bar on blue");
  await drawer.getByTestId("publish-now").click();
  await expect(drawer.getByTestId("post-details")).toHaveAttribute("data-status", "PUBLISHED", { timeout: 20_000 });

  // The published post's page shows the image (loaded from the server) with its alt text.
  await page.goto(`/posts/${postId}`);
  await hydrated(page);
  await expect(page.getByTestId("post-details")).toHaveAttribute("data-status", "PUBLISHED");
  const image = page.getByTestId("post-media").getByRole("img", { name: "A yellow bar on blue" });
  await expect(image).toBeVisible();
  expect(await image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
  await shoot(page, testInfo, "published-post-with-image");

  // The Sandbox keeps the post to its account: a browser without the account's token cannot
  // read it (the link is …/profile/<did>/post/<rkey>). That the network got the image with its
  // alt text is checked with the account's own token in server/tests/it/media.rs.
  const href = (await page.getByTestId("target-link").getAttribute("href"))!;
  const [, did, rkey] = href.match(/profile\/([^/]+)\/post\/([^/]+)/)!;
  const record = await page.request.get(`/sandbox-network/sandbox/xrpc/com.atproto.repo.getRecord?repo=${did}&collection=app.bsky.feed.post&rkey=${rkey}`);
  expect(record.status(), await record.text()).toBe(401);

  // The library keeps it for reuse.
  await page.goto("/library");
  await hydrated(page);
  // Both uploads stay in the library for reuse, even the one removed from the post.
  await expect(page.getByTestId("library-item")).toHaveCount(2);
  await expect(page.getByTestId("uploads-this-month")).toContainText("2 uploaded this month");

  // …and the composer takes one from there without uploading again.
  await page.goto("/compose");
  await hydrated(page);
  await page.getByRole("button", { name: "From library" }).click();
  await page.getByRole("dialog", { name: "Choose from the media library" }).getByRole("button", { name: "Attach cover.png" }).click();
  await expect(page.getByTestId("media-tile")).toHaveCount(1);
  await expect(page.getByTestId("media-tile")).toContainText("240×160");
  // It comes with the alt text it went out with.
  await expect(page.getByTestId("media-tile").getByTestId("media-alt")).toHaveValue("A yellow bar on blue");
  await expect(page.getByRole("dialog")).toHaveCount(0);
  expect(errors, errors.join("\n")).toEqual([]);
});
