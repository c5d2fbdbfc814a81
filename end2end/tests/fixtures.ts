import { test as base, expect, type Page } from "@playwright/test";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { serverState } from "./server";

/** A password the strength check accepts. */
export const GOOD_PASSWORD = "paper lantern orbit velvet";

/** An email address no other test uses. */
export function uniqueEmail(who = "dev"): string {
  return `${who}-${randomBytes(5).toString("hex")}@example.com`;
}

/**
 * `test` with the server's address as `baseURL`, and a check that the page
 * logged no Content-Security-Policy violation and no uncaught error.
 */
export const test = base.extend<{ pageProblems: string[] }>({
  baseURL: async ({}, use) => {
    await use(serverState().baseURL);
  },
  pageProblems: [
    async ({ page }, use) => {
      const problems: string[] = [];
      page.on("console", (msg) => {
        const text = msg.text();
        if (msg.type() === "error" && /Content Security Policy|Refused to|panicked/i.test(text)) {
          problems.push(text.split("\n")[0].slice(0, 500));
        }
      });
      page.on("pageerror", (err) => problems.push(`uncaught: ${err.message}`));
      page.on("response", async (res) => {
        const type = res.headers()["content-type"] ?? "";
        const csp = res.headers()["content-security-policy"] ?? "";
        if (type.includes("text/html") && !csp.includes("'nonce-")) {
          problems.push(`HTML without a page policy: ${res.status()} ${res.url()} ${JSON.stringify(res.headers())} ${JSON.stringify(res.request().headers())}`);
        }
      });
      await use(problems);
      expect(problems, "the page logged CSP violations or uncaught errors").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** Waits until the WebAssembly has hydrated the page (no-op without JS). */
export async function hydrated(page: Page): Promise<void> {
  if (base.info().project.use.javaScriptEnabled !== false) {
    await expect(page.locator("html")).toHaveAttribute("data-hydrated", "");
  }
}

/**
 * The confirmation link Portico made for `email`. The test server has no
 * SMTP, so it prints the link on its standard output, which global setup
 * keeps in server.log.
 */
export async function confirmationLink(email: string): Promise<string> {
  const log = join(serverState().dir, "server.log");
  const pattern = new RegExp(`Email confirmation link for ${email.replace(/[.+]/g, "\\$&")} \\(no SMTP configured\\):\\s+(\\S+)`, "g");
  for (let i = 0; i < 50; i++) {
    const links = [...readFileSync(log, "utf8").matchAll(pattern)].map((m) => m[1]);
    if (links.length > 0) return links[links.length - 1];
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`no confirmation link for ${email} in ${log}`);
}

/** Opens the address's confirmation link and confirms it, as its owner would. */
export async function confirmEmail(page: Page, email: string): Promise<void> {
  await page.goto(await confirmationLink(email));
  await hydrated(page);
  await page.getByRole("button", { name: "Confirm my address" }).click();
  await expect(page.getByTestId("confirm-banner")).toHaveCount(0);
}

/** After the sign-up form: the inbox message, then sign in and confirm the address. */
export async function finishSignUp(page: Page, email: string, password = GOOD_PASSWORD): Promise<void> {
  await expect(page.getByRole("heading", { level: 1, name: "Check your inbox" })).toBeVisible();
  await signIn(page, email, password);
  await expect(page.getByTestId("confirm-banner")).toBeVisible();
  await confirmEmail(page, email);
}

/** Signs up through the form, creating an organisation, and confirms the address. */
export async function signUp(page: Page, email: string, org: string, password = GOOD_PASSWORD): Promise<void> {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Work email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Organisation name").fill(org);
  await page.getByRole("button", { name: "Create account" }).click();
  await finishSignUp(page, email, password);
  await expect(page.getByRole("heading", { level: 1, name: org })).toBeVisible();
}

/** Signs in through the form. */
export async function signIn(page: Page, email: string, password = GOOD_PASSWORD): Promise<void> {
  await page.goto("/signin");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}
