import { test as base, expect, type Page } from "@playwright/test";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
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

/** The emails the portal sent to `email` so far, oldest first (quoted-printable undone). */
export function mailTo(email: string): string[] {
  const dir = join(serverState().mailDir, "new");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => ({ path: join(dir, name), at: statSync(join(dir, name)).mtimeMs }))
    .sort((a, b) => a.at - b.at)
    .map((f) => readFileSync(f.path, "utf8").replace(/=\r?\n/g, "").replace(/=3D/g, "="))
    .filter((m) => new RegExp(`^To: ${email.replace(/[.+]/g, "\\$&")}\\s*$`, "mi").test(m));
}

/** The newest link to `path` (e.g. "/reset") in mail to `email`, waiting up to ten seconds for it. */
export async function linkInMail(email: string, path: string, after = 0): Promise<string> {
  const pattern = new RegExp(`(http://\\S+${path.replace(/\//g, "\\/")}\\?token=[0-9a-f]+)`);
  for (let i = 0; i < 100; i++) {
    const links = mailTo(email)
      .slice(after)
      .map((m) => m.match(pattern)?.[1])
      .filter((l): l is string => !!l);
    if (links.length > 0) return links[links.length - 1];
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`no ${path} link in mail to ${email}`);
}

/** The confirmation link Portico emailed to `email` (to the loopback SMTP server). */
export async function confirmationLink(email: string): Promise<string> {
  return linkInMail(email, "/verify-email");
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

/** The RFC 6238 code (HMAC-SHA1, 6 digits, 30-second steps) of a base-32 secret at `at`. */
export function totpCode(secret: string, at = Date.now()): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/\s+/g, "").toUpperCase()) {
    bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  }
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, "0");
}

/** A code of `secret` other than `used` (each code works once): waits for the next step if need be. */
export async function freshCode(secret: string, used: string): Promise<string> {
  for (;;) {
    const code = totpCode(secret);
    if (code !== used) return code;
    await new Promise((done) => setTimeout(done, 1000));
  }
}

/**
 * Sets up an authenticator app on the Account page, as a person would with
 * their phone: reads the key shown under the QR code, types the app's code,
 * and saves the recovery codes. Returns the secret, the code used and the
 * recovery codes.
 */
export async function enrolTotp(page: Page): Promise<{ secret: string; used: string; recoveryCodes: string[] }> {
  await page.goto("/account");
  await hydrated(page);
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  await expect(page.getByRole("img", { name: "QR code to scan with your authenticator app" })).toBeVisible();
  const secret = (await page.getByTestId("totp-secret").textContent())!.trim();
  const used = totpCode(secret);
    await page.getByLabel("Code from the app").fill(used);
  await page.getByTestId("totp-setup").getByLabel("Current password").fill(GOOD_PASSWORD);
  await page.getByTestId("totp-setup").getByLabel("Current password").press("Enter");
  const recoveryCodes = await saveRecoveryCodes(page);
  return { secret, used, recoveryCodes };
}

/**
 * Reads the ten recovery codes shown once (the panel has the focus), says
 * they were saved and closes the panel. Returns the codes.
 */
export async function saveRecoveryCodes(page: Page): Promise<string[]> {
  const shown = page.getByTestId("recovery-codes");
  await expect(shown).toBeFocused();
  const recoveryCodes = (await shown.locator("li").allTextContents()).map((c) => c.trim());
  expect(recoveryCodes).toHaveLength(10);
  await shown.getByLabel("I have saved these codes somewhere safe").check();
  await shown.getByRole("button", { name: "Done" }).click();
  await expect(page.getByTestId("two-factor-on")).toBeVisible();
  return recoveryCodes;
}
