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
