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
  await expect(page.getByTestId("token-lifetime")).toContainText("10 minutes");
  await page.getByLabel("Access tokens live (minutes)").fill("61");
  await page.getByRole("button", { name: "Save policy" }).click();
  await expect(page.getByText("Enter a whole number of minutes from 1 to 60.")).toBeVisible();
  await page.getByLabel("Access tokens live (minutes)").fill("5");
  await page.getByRole("button", { name: "Save policy" }).click();
  await expect(page.getByTestId("token-lifetime")).toContainText("5 minutes");

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

test("a review finding links to the control that fixes it, and one accepted with a note is listed apart until reopened", async ({ page }) => {
  await signUp(page, uniqueEmail("accept"), "Accepting Co");
  await page.goto("/keys/new");
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill("Refund bot");
  await page.getByLabel("Purpose").fill("Refunds for the support desk");
  await page.getByLabel("Production").check();
  await page.getByRole("checkbox", { name: /payments:refund/ }).check();
  await page.getByLabel("I confirm this key needs these high-risk scopes").check();
  await page.getByRole("button", { name: "Create key" }).click();
  await page.getByLabel("I have stored this key somewhere safe").check();
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Refund bot" })).toBeVisible();

  await page.getByRole("link", { name: "Review" }).click();
  await hydrated(page);
  const row = page.getByTestId("review").getByRole("row", { name: /Refund bot/ });
  await expect(row).toContainText("Production key holding high-risk scopes: payments:refund");

  // The fix link opens the key's Edit control, scrolled into view.
  await row.getByRole("link", { name: "Remove the scopes it does not need" }).click();
  await expect(page).toHaveURL(/\?do=edit#edit$/);
  const edit = page.locator("details#edit");
  await expect(edit).toHaveAttribute("open", "");
  await expect(edit.locator("summary")).toBeInViewport();
  await expect(edit.locator("summary")).toBeFocused();

  // Accepted with a note: refused without one, then listed apart.
  await page.goto("/review");
  await hydrated(page);
  await row.getByText("Accept with a note").click();
  await row.getByRole("button", { name: "Accept", exact: true }).click();
  await expect(page.getByTestId("accepted")).toHaveCount(0);
  await row.getByLabel("Why this is acceptable").fill("Refunds approved by security, ticket SEC-42");
  await row.getByRole("button", { name: "Accept", exact: true }).click();
  const accepted = page.getByTestId("accepted");
  await expect(accepted).toContainText("Refunds approved by security, ticket SEC-42");
  await expect(page.getByRole("heading", { name: "Nothing to fix" })).toBeVisible();
  await accepted.getByRole("button", { name: /Reopen/ }).click();
  await expect(page.getByTestId("accepted")).toHaveCount(0);
  await expect(page.getByTestId("review").getByRole("row", { name: /Refund bot/ })).toBeVisible();

  // The trail says who accepted it and why.
  await page.getByRole("link", { name: "Audit trail" }).click();
  await expect(page.getByRole("cell", { name: "Review finding accepted" }).first()).toBeVisible();
  await expect(page.getByRole("cell", { name: "Review finding reopened" }).first()).toBeVisible();
});
