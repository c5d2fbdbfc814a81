import { test, expect, hydrated, signUp, uniqueEmail, type Page } from "./fixtures";

/** The regular expression the README publishes for secret scanners. */
const KEY_REGEX = /^prt_(?:test|live)_[0-9A-Za-z]{38}$/;

async function newKeyForm(page: Page, name: string): Promise<void> {
  await page.goto("/keys/new");
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Purpose").fill(`Used by ${name}`);
}

/** Confirms the secret was stored and closes the panel. */
async function done(page: Page): Promise<void> {
  const doneButton = page.getByRole("button", { name: "Done" });
  await expect(doneButton).toBeDisabled();
  await page.getByLabel("I have stored this key somewhere safe").check();
  await doneButton.click();
}

test("a sandbox key with the default scopes shows its secret once", async ({ page }) => {
  await signUp(page, uniqueEmail("keys"), "Secret Once");
  await expect(page.getByRole("heading", { name: "No API keys yet" })).toBeVisible();
  await page.getByRole("link", { name: "Create your first key" }).click();
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill("Reporting job");
  await page.getByLabel("Purpose").fill("Nightly report export");
  // Least privilege: only low-risk read scopes start ticked.
  await expect(page.getByRole("checkbox", { name: /records:read/ })).toBeChecked();
  await expect(page.getByRole("checkbox", { name: /records:write/ })).not.toBeChecked();
  await expect(page.getByRole("checkbox", { name: /payments:refund/ })).not.toBeChecked();
  await expect(page.getByLabel("Sandbox")).toBeChecked();
  await page.getByRole("button", { name: "Create key" }).click();

  const secret = page.getByTestId("new-secret");
  await expect(secret).toBeVisible();
  const value = (await secret.textContent())!.trim();
  expect(value).toMatch(KEY_REGEX);
  expect(value.startsWith("prt_test_")).toBe(true);
  await expect(page.getByText("only time Portico shows this key")).toBeVisible();

  // A reload forgets it for good.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("new-secret")).toHaveCount(0);
  expect(await page.content()).not.toContain(value);

  // The key is listed, without its secret.
  await page.goto("/keys");
  const row = page.getByRole("row", { name: /Reporting job/ });
  await expect(row).toContainText("Sandbox");
  await expect(row).toContainText("never");
  await expect(row).toContainText("Active");
  expect(await page.content()).not.toContain(value);
  await row.getByRole("link", { name: "Reporting job" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Reporting job" })).toBeVisible();
  expect(await page.content()).not.toContain(value);
});

test("choosing a high-risk scope for a production key asks for confirmation", async ({ page }) => {
  await signUp(page, uniqueEmail("risk"), "High Risk Ltd");
  await newKeyForm(page, "Refund bot");
  await page.getByLabel("Production").check();
  await expect(page.getByRole("alert").filter({ hasText: "High-risk scopes chosen" })).toHaveCount(0);
  await page.getByRole("checkbox", { name: /payments:refund/ }).check();
  const confirmation = page.getByRole("alert").filter({ hasText: "High-risk scopes chosen" });
  await expect(confirmation).toBeVisible();
  await expect(confirmation).toContainText("payments:refund");

  // Submitting without confirming is refused, and keeps what was chosen.
  await page.getByRole("button", { name: "Create key" }).click();
  await expect(page.getByText("Confirm that this key needs the high-risk scope payments:refund.")).toBeVisible();
  await expect(page.getByRole("checkbox", { name: /payments:refund/ })).toBeChecked();
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("Refund bot");

  await page.getByLabel("I confirm this key needs these high-risk scopes").check();
  await page.getByRole("button", { name: "Create key" }).click();
  const value = (await page.getByTestId("new-secret").textContent())!.trim();
  expect(value).toMatch(KEY_REGEX);
  expect(value.startsWith("prt_live_")).toBe(true);
  await done(page);
  await expect(page.getByRole("heading", { level: 1, name: "Refund bot" })).toBeVisible();
  await expect(page.locator(".key-identity")).toContainText("Production");
});

test("rotating with a 24-hour overlap keeps both keys, the old one rotating", async ({ page }) => {
  await signUp(page, uniqueEmail("rotate"), "Rotation Co");
  await newKeyForm(page, "Webhook relay");
  await page.getByRole("button", { name: "Create key" }).click();
  const first = (await page.getByTestId("new-secret").textContent())!.trim();
  await done(page);
  const oldUrl = page.url();

  await page.getByText("Rotate", { exact: true }).click();
  await expect(page.getByLabel("24 hours")).toBeChecked();
  await page.getByRole("button", { name: "Rotate key" }).click();
  const second = (await page.getByTestId("new-secret").textContent())!.trim();
  expect(second).toMatch(KEY_REGEX);
  expect(second).not.toBe(first);
  await done(page);
  await expect(page).not.toHaveURL(oldUrl);

  await page.goto("/keys");
  const rows = page.getByRole("row", { name: /Webhook relay/ });
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: "Rotating" })).toHaveCount(1);
  await expect(rows.filter({ hasText: "Active" })).toHaveCount(1);

  await page.goto(oldUrl);
  await expect(page.getByRole("heading", { name: "Being replaced" })).toBeVisible();
  await expect(page.getByText("Last used: Never")).toBeVisible();
  await expect(page.getByRole("button", { name: "Retire now" })).toBeVisible();
});

test("a key made with a monthly quota shows its use, and an admin raises it from the key's page", async ({ page, request }) => {
  await signUp(page, uniqueEmail("quota"), "Quota Co");
  await newKeyForm(page, "Partner feed");
  await page.getByLabel("Monthly quota (optional)").fill("3");
  await page.getByRole("button", { name: "Create key" }).click();
  await expect(page.getByTestId("new-secret")).toBeVisible();
  await done(page);
  await expect(page.getByRole("heading", { level: 1, name: "Partner feed" })).toBeVisible();
  const quota = page.getByTestId("quota");
  await expect(quota).toContainText(/0 of 3 requests used this month \(0\s%\), 3 left/);
  await expect(quota.getByRole("meter", { name: "Share of the monthly quota used" })).toBeVisible();
  await expect(page.getByTestId("audit-trail").or(page.locator("body"))).toContainText("at most 3 requests a month");

  await hydrated(page);
  await quota.getByText("Change the quota").click();
  await quota.getByLabel("Requests a month").fill("lots");
  await quota.getByRole("button", { name: "Save the quota" }).click();
  await expect(quota.locator(".field-error")).toContainText("whole number of requests a month");
  await quota.getByLabel("Requests a month").fill("10,000");
  await quota.getByRole("button", { name: "Save the quota" }).click();
  await expect(quota).toContainText("0 of 10,000 requests used this month");
  await page.screenshot({ path: "test-results/key-quota.png", fullPage: true });
  await expect(page.getByTestId("audit-trail").or(page.locator("body"))).toContainText("Monthly quota set to 10,000 requests");
});

test("revoking asks for a reason, then shows who, when and why", async ({ page }) => {
  const email = uniqueEmail("revoke");
  await signUp(page, email, "Revocation Co");
  await newKeyForm(page, "Old integration");
  await page.getByRole("button", { name: "Create key" }).click();
  await done(page);

  await page.getByText("Revoke", { exact: true }).click();
  await expect(page.getByText("immediate and permanent")).toBeVisible();
  await expect(page.getByTestId("revoke-requests-7d")).toHaveText("0");
  await page.getByRole("button", { name: "Revoke permanently" }).click();
  await expect(page.locator("#field-reason-error")).toContainText("Say why");
  await page.getByLabel("Reason", { exact: true }).fill("Integration retired");
  await page.getByRole("button", { name: "Revoke permanently" }).click();
  await expect(page.getByRole("heading", { name: "Revoked" })).toBeVisible();
  await expect(page.locator(".revoke-reason")).toHaveText("Integration retired");
  await expect(page.locator(".key-identity")).toContainText("Revoked");
  await expect(page.getByRole("row", { name: /Revoked/ }).first()).toContainText(email);
});

test("the whole key lifecycle works with the keyboard alone", async ({ page }) => {
  await signUp(page, uniqueEmail("kbd-keys"), "Keyboard Keys");
  await page.goto("/keys/new");
  await hydrated(page);

  await expect(page.getByLabel("Name", { exact: true })).toBeFocused();
  await page.keyboard.type("Keyboard key");
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Purpose")).toBeFocused();
  await page.keyboard.type("Typed without a mouse");
  // Move to production with the arrow keys in the radio group.
  await page.getByLabel("Sandbox").focus();
  await page.keyboard.press("ArrowDown");
  await expect(page.getByLabel("Production")).toBeChecked();
  // Tick a high-risk scope with the space bar, then confirm it.
  await page.getByRole("checkbox", { name: /webhooks:manage/ }).focus();
  await page.keyboard.press("Space");
  const confirm = page.getByLabel("I confirm this key needs these high-risk scopes");
  await confirm.focus();
  await page.keyboard.press("Space");
  await expect(confirm).toBeChecked();
  await page.getByRole("button", { name: "Create key" }).focus();
  await page.keyboard.press("Enter");

  await expect(page.getByTestId("new-secret")).toHaveText(KEY_REGEX);
  // The panel takes the focus; tab to the confirmation and finish.
  await page.getByLabel("I have stored this key somewhere safe").focus();
  await page.keyboard.press("Space");
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Done" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 1, name: "Keyboard key" })).toBeVisible();

  // Rotate with a one-hour overlap.
  await page.locator("details.action summary", { hasText: "Rotate" }).focus();
  await page.keyboard.press("Enter");
  await page.getByLabel("1 hour").focus();
  await page.keyboard.press("Space");
    await page.getByRole("button", { name: "Rotate key" }).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("new-secret")).toHaveText(KEY_REGEX);
  // The panel says when the old key stops.
  await expect(page.getByTestId("rotation-overlap")).toContainText("keeps working until");
  await page.getByLabel("I have stored this key somewhere safe").focus();
  await page.keyboard.press("Space");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");

  // Revoke the new key, once its page has settled (alerts loaded).
  await expect(page.getByRole("region", { name: "Alerts" })).toContainText("No alerts");
  await page.locator("details.action summary", { hasText: "Revoke" }).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByLabel("Reason", { exact: true })).toBeVisible();
  await page.getByLabel("Reason", { exact: true }).focus();
  await page.keyboard.type("Done testing");
  await page.getByRole("button", { name: "Revoke permanently" }).focus();
  await page.keyboard.press("Enter");
  await expect(page.locator(".revoke-reason")).toHaveText("Done testing");
});

test("a reporting service gets a sandbox and a production key, and the production one is rotated", async ({ page }) => {
  await signUp(page, uniqueEmail("reporting"), "Reporting Co");
  // Its two keys, kept apart by environment.
  await newKeyForm(page, "Reporting (sandbox)");
  await page.getByRole("button", { name: "Create key" }).click();
  const sandbox = (await page.getByTestId("new-secret").textContent())!.trim();
  expect(sandbox.startsWith("prt_test_")).toBe(true);
  await done(page);
  await newKeyForm(page, "Reporting (production)");
  await page.getByLabel("Production").check();
  await page.getByRole("button", { name: "Create key" }).click();
  const production = (await page.getByTestId("new-secret").textContent())!.trim();
  expect(production.startsWith("prt_live_")).toBe(true);
  await done(page);
  const productionUrl = page.url();

  await page.goto("/keys");
  await expect(page.getByRole("row", { name: /Reporting \(sandbox\)/ })).toContainText("Sandbox");
  await expect(page.getByRole("row", { name: /Reporting \(production\)/ })).toContainText("Production");

  // Rotating the production key with a one-hour overlap: the new secret once,
  // and which key it replaces, until when.
  await page.goto(productionUrl);
  await hydrated(page);
  await page.getByText("Rotate", { exact: true }).click();
  await page.getByLabel("1 hour").check();
  await page.getByRole("button", { name: "Rotate key" }).click();
  const rotated = (await page.getByTestId("new-secret").textContent())!.trim();
  expect(rotated.startsWith("prt_live_")).toBe(true);
  expect(rotated).not.toBe(production);
  await expect(page.getByTestId("rotation-overlap")).toContainText("keeps working until");
  await done(page);

  await page.goto("/keys");
  const rows = page.getByRole("row", { name: /Reporting \(production\)/ });
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: "Rotating" })).toHaveCount(1);
  await expect(page.getByRole("row", { name: /Reporting \(sandbox\)/ })).toContainText("Active");
});

test("a long inventory is paged, keeps its sort across pages and works without JavaScript @nojs", async ({ page }) => {
  await signUp(page, uniqueEmail("pager"), "Pager Co");
  const me = await (await page.request.post("/api/current_user")).json();
  const orgId = String(me.active_org_id);
  for (let i = 0; i < 53; i++) {
    const form = await (await page.request.post("/api/key_form", { form: { org_id: orgId } })).json();
    const made = await page.request.post("/api/create_key", {
      form: {
        org_id: orgId,
        request_token: form.request_token,
        name: `Paged key ${String(i).padStart(2, "0")}`,
        purpose: "A long inventory",
        environment: "sandbox",
        expiry: String(30 + i),
        "scopes[0]": "records:read",
      },
    });
    expect(made.ok()).toBeTruthy();
  }
  await page.goto("/keys?sort=expiry");
  const position = page.getByTestId("pager-position");
  await expect(position).toHaveText("Showing 1–50 of 53 keys");
  await expect(page.locator("table.key-table tbody tr")).toHaveCount(50);
  await expect(page.locator("table.key-table tbody tr").first()).toContainText("Paged key 00");
  await expect(page.getByRole("link", { name: "← Previous page" })).toHaveCount(0);

  await page.getByRole("link", { name: "Next page →" }).click();
  await expect(position).toHaveText("Showing 51–53 of 53 keys");
  await expect(page).toHaveURL(/sort=expiry/);
  await expect(page).toHaveURL(/after=/);
  await expect(page.locator("table.key-table tbody tr")).toHaveCount(3);
  await expect(page.locator("table.key-table tbody tr").last()).toContainText("Paged key 52");
  await expect(page.getByRole("link", { name: "Next page →" })).toHaveCount(0);

  await page.getByRole("link", { name: "← Previous page" }).click();
  await expect(position).toHaveText("Showing 1–50 of 53 keys");
  await expect(page.getByRole("navigation", { name: "Pages of keys" })).toBeVisible();
});
