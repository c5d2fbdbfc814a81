import { test, expect, hydrated, signUp, uniqueEmail, finishSignUp, linkInMail } from "./fixtures";

test("an admin sets the key policy, alert thresholds and reads the review and alerts", async ({ page }) => {
  await signUp(page, uniqueEmail("policy"), "Policy Co");
  await page.getByRole("link", { name: "Policy" }).click();
  await hydrated(page);
  await expect(page.getByTestId("policy")).toContainText("365 days");
  await page.getByLabel("Maximum key lifetime (days)").fill("400");
  await page.getByRole("button", { name: "Save policy" }).click();
  await expect(page.getByText("Enter a whole number of days from 1 to 365.")).toBeVisible();
  await page.getByLabel("Maximum key lifetime (days)").fill("30");
  await page.getByLabel("Default expiry (days)").fill("14");
  await page.getByLabel("Production", { exact: true }).uncheck();
  await page.getByRole("button", { name: "Save policy" }).click();
  await expect(page.getByText("Policy saved.")).toBeVisible();
  await expect(page.getByTestId("policy")).toContainText("30 days");
  await expect(page.getByTestId("policy")).toContainText("Sandbox (admins may use both)");

  // New keys follow it: the form offers 30 days at most, 14 by default.
  await page.goto("/keys/new");
  await hydrated(page);
  await expect(page.getByLabel("Expires")).toHaveValue("14");
  await expect(page.getByText("lets keys live at most 30 days")).toBeVisible();

  await page.getByRole("link", { name: "Alerts" }).click();
  await hydrated(page);
  await expect(page.getByText("No alerts.")).toBeVisible();
  await page.getByLabel("Spike: times the usual volume").fill("1");
  await page.getByRole("button", { name: "Save thresholds" }).click();
  await expect(page.getByText("Enter a whole number from 2 to 1000.")).toBeVisible();
  await page.getByLabel("Spike: times the usual volume").fill("8");
  await page.getByRole("button", { name: "Save thresholds" }).click();
  await expect(page.getByText("Thresholds saved.")).toBeVisible();

  await page.getByRole("link", { name: "Review" }).click();
  await expect(page.getByRole("heading", { name: "Nothing to fix" })).toBeVisible();
  await expect(page.getByText("There are no working keys to review yet")).toBeVisible();
  await page.getByRole("link", { name: "Audit trail" }).click();
  await expect(page.getByRole("cell", { name: "Policy changed" }).first()).toBeVisible();
});

test("an admin invites by email, changes a role and removes a member", async ({ page, browser }) => {
  await signUp(page, uniqueEmail("owner"), "Team Co");
  await page.goto("/members");
  await hydrated(page);
  const invitee = uniqueEmail("invitee");
  await page.getByLabel("Email (optional)").fill(invitee);
  await page.getByRole("button", { name: "Create invitation link" }).click();
    // Emailed through the loopback SMTP server, and shown too.
  await expect(page.getByText(`Emailed to ${invitee}. Only ${invitee} can use it.`)).toBeVisible();
  const link = await page.getByTestId("invitation-link").inputValue();
  expect(await linkInMail(invitee, "/join")).toBe(link);

  const other = await (await browser.newContext({ baseURL: page.url().split("/members")[0] })).newPage();
  await other.goto(link);
  await hydrated(other);
  await other.getByLabel("Work email").fill(uniqueEmail("stranger"));
  await other.getByLabel("Password", { exact: true }).fill("paper lantern orbit velvet");
  await other.getByRole("button", { name: "Create account and join" }).click();
  await expect(other.getByText(`This invitation was sent to ${invitee}`)).toBeVisible();
  await other.getByLabel("Work email").fill(invitee);
  await other.getByRole("button", { name: "Create account and join" }).click();
  await finishSignUp(other, invitee);
  await expect(other.getByRole("heading", { level: 1, name: "Team Co", exact: true })).toBeVisible();

  await page.reload();
  await hydrated(page);
  const row = page.getByTestId("members").getByRole("row", { name: new RegExp(invitee) });
  await row.getByRole("button", { name: /Make admin/ }).click();
  await expect(row).toContainText("Admin");
  await row.locator("summary", { hasText: "Remove" }).click();
  await row.getByRole("button", { name: `Remove ${invitee}` }).click();
  await expect(page.getByText("Member removed.")).toBeVisible();
  await expect(page.getByTestId("members")).not.toContainText(invitee);
});
