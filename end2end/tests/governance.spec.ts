import { test, expect, hydrated, signUp, uniqueEmail, GOOD_PASSWORD, type Page, finishSignUp, enrolTotp } from "./fixtures";
import { portico, serverState } from "./server";

/** Creates a key through the form and returns its secret and id. */
async function createKey(page: Page, name: string, production = false, pending = false): Promise<{ secret: string; keyId: string }> {
  await page.goto("/keys/new");
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Purpose").fill("Governance test");
  if (production) {
    await page.getByLabel("Production").check();
    await page.getByRole("checkbox", { name: /payments:refund/ }).check();
    await page.getByLabel("I confirm this key needs these high-risk scopes").check();
  }
  await page.getByRole("button", { name: "Create key" }).click();
    const secret = (await page.getByTestId("new-secret").textContent())!.trim();
  if (pending) {
    // A key waiting for approval says so, and who approves it, before it is stored.
    await expect(page.getByTestId("secret-pending")).toContainText("This key does not work yet.");
  }
  await page.getByLabel("I have stored this key somewhere safe").check();
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  return { secret, keyId: page.url().split("/keys/")[1] };
}

function gatewayToken(name: string): string {
  const out = portico("gateway-token", "create", name);
  return out.match(/gwt_[0-9A-Za-z]+/)![0];
}

test("support suspends a key, the owner is told, and reinstating it lets it work again", async ({ page, browser, request }) => {
  const owner = uniqueEmail("owner");
  await signUp(page, owner, "Suspend Co");
  const { secret, keyId } = await createKey(page, "Suspended key");
  const token = gatewayToken(`gw-${keyId}`);
  const verify = async () => {
    const res = await request.post("/v1/verify", { headers: { Authorization: `Bearer ${token}` }, data: { key: secret } });
    expect(res.status()).toBe(200);
    return (await res.json()).code;
  };
  expect(await verify()).toBe("ok");

  // Staff find the key by its id in the support console.
  const staffEmail = uniqueEmail("support");
  const staff = await (await browser.newContext({ baseURL: serverState().baseURL })).newPage();
  await signUp(staff, staffEmail, "Platform Support");
  portico("staff", "grant", staffEmail, "--role", "support");
  await enrolTotp(staff);
  await staff.goto("/staff/support");
  await staff.getByLabel("Key id, organisation or owner email").fill(keyId);
  await staff.getByRole("button", { name: "Search" }).click();
  await expect(staff.getByTestId("support-results")).toContainText("Suspend Co");
  await staff.getByRole("link", { name: "Suspended key" }).click();
  await hydrated(staff);
  await expect(staff.getByRole("heading", { level: 1, name: "Suspended key" })).toBeVisible();
  await expect(staff.getByRole("button", { name: "Rotate key" })).toHaveCount(0);

  // A reason is required.
  await staff.getByText("Suspend this key").click();
  await staff.getByRole("button", { name: "Suspend key" }).click();
  await expect(staff.getByText("Say why you are suspending this key")).toBeVisible();
  expect(await verify()).toBe("ok");
  await staff.getByLabel("Reason for suspending").fill("Traffic from an unknown network");
  await staff.getByRole("button", { name: "Suspend key" }).click();
  await expect(staff.getByTestId("suspension")).toContainText("Traffic from an unknown network");
  expect(await verify()).toBe("suspended");

  // The owner sees the notification.
  await page.goto("/");
  await expect(page.getByTestId("unread-count")).toContainText("1");
  await page.getByRole("link", { name: /Notifications/ }).click();
  await expect(page.getByTestId("notifications")).toContainText("was suspended");
  await expect(page.getByTestId("notifications")).toContainText("Traffic from an unknown network");
  await page.getByRole("link", { name: /was suspended/ }).click();
  await expect(page.getByTestId("suspension")).toContainText(staffEmail);

  // Staff reinstate it; it works again.
  await staff.getByLabel("Reason for reinstating").fill("The customer confirmed the new office");
  await staff.getByRole("button", { name: "Reinstate" }).click();
  await expect(staff.getByTestId("suspension")).toHaveCount(0);
  expect(await verify()).toBe("ok");
  await page.goto("/notifications");
  await expect(page.getByTestId("notifications")).toContainText("was reinstated");
});

test("support report a leaked key from the console: it stops at once and the owner sees the alert", async ({ page, browser, request }) => {
  const owner = uniqueEmail("leakowner");
  await signUp(page, owner, "Leak Co");
  const { secret, keyId } = await createKey(page, "Pasted in a forum");
  const token = gatewayToken(`gw-leak-${keyId}`);
  const verify = async () =>
    (await (await request.post("/v1/verify", { headers: { Authorization: `Bearer ${token}` }, data: { key: secret } })).json()).code;
  expect(await verify()).toBe("ok");

  const staffEmail = uniqueEmail("leakstaff");
  const staff = await (await browser.newContext({ baseURL: serverState().baseURL })).newPage();
  await signUp(staff, staffEmail, "Platform Leaks");
  portico("staff", "grant", staffEmail, "--role", "support");
  await enrolTotp(staff);
  await staff.goto("/staff/support");
  await hydrated(staff);
  await staff.getByText("Report a leaked key").click();
  // Where it was found is required: the owner is told.
  await staff.getByLabel("The secret found").fill(secret);
  await staff.getByRole("button", { name: "Report and suspend" }).click();
  await expect(staff.getByLabel("Where it was found")).toHaveAttribute("aria-invalid", "true");
  expect(await verify()).toBe("ok");
  await staff.getByLabel("Where it was found").fill("https://forum.example/t/4711");
  await staff.getByRole("button", { name: "Report and suspend" }).click();
  await expect(staff.getByTestId("report-leak")).toContainText("was suspended, and its owner and admins told");
  expect(await verify()).toBe("suspended");

  // The owner sees why, on the key's page and in the alerts.
  await page.goto(`/keys/${keyId}`);
  await expect(page.getByTestId("suspension")).toContainText("https://forum.example/t/4711");
  await page.goto("/alerts");
  await expect(page.getByText("Secret found in public").first()).toBeVisible();
});

test("an admin approves a developer's pending production key and the developer is told", async ({ page, browser, request }) => {
  await signUp(page, uniqueEmail("approver"), "Approval Co");
  await page.goto("/members");
  await hydrated(page);
  await page.getByLabel("Role").selectOption("developer");
  await page.getByRole("button", { name: "Create invitation link" }).click();
  const link = await page.getByTestId("invitation-link").inputValue();

  const dev = await (await browser.newContext({ baseURL: serverState().baseURL })).newPage();
  await dev.goto(link);
  await hydrated(dev);
  const requester = uniqueEmail("requester");
  await dev.getByLabel("Work email").fill(requester);
  await dev.getByLabel("Password", { exact: true }).fill(GOOD_PASSWORD);
  await dev.getByRole("button", { name: "Create account and join" }).click();
  await finishSignUp(dev, requester);
  await expect(dev.getByRole("heading", { level: 1, name: "Approval Co", exact: true })).toBeVisible();

  await dev.goto("/keys/new");
  await hydrated(dev);
  await expect(dev.getByTestId("approval-note")).toBeVisible();
    const { secret, keyId } = await createKey(dev, "Refund bot", true, true);
  await expect(dev.getByTestId("pending-approval")).toBeVisible();
  const token = gatewayToken(`gw-${keyId}`);
  const verify = async () =>
    (await (await request.post("/v1/verify", { headers: { Authorization: `Bearer ${token}` }, data: { key: secret } })).json()).code;
  expect(await verify()).toBe("pending_approval");

  await page.goto("/approvals");
  await hydrated(page);
  const queue = page.getByTestId("approval-queue");
  await expect(queue).toContainText("Refund bot");
  await expect(queue).toContainText("payments:refund");
  await queue.getByLabel("Comment (required to reject)").fill("Agreed in the refunds review");
  await queue.getByRole("button", { name: "Approve" }).click();
  await expect(page.getByText("Decision recorded")).toBeVisible();
  await expect(page.getByText("Nothing waiting")).toBeVisible();
  expect(await verify()).toBe("ok");

    await dev.goto("/notifications");
  await expect(dev.getByTestId("notifications")).toContainText("was approved");
  await expect(dev.getByTestId("notifications")).toContainText("Agreed in the refunds review");

  // A request made by mistake is withdrawn from the key's page.
  await createKey(dev, "Mistaken bot", true, true);
  await expect(dev.getByTestId("pending-approval")).toBeVisible();
  await dev.getByText("Withdraw this request").click();
  await dev.getByRole("button", { name: "Withdraw request" }).click();
  await expect(dev.locator(".revoke-reason")).toHaveText("Approval request withdrawn before a decision");
  await page.goto("/approvals");
  await expect(page.getByText("Nothing waiting")).toBeVisible();
});

test("the key list and the audit trail offer their exports, with the list's filters", async ({ page }) => {
  await signUp(page, uniqueEmail("export"), "Export Co");
  await page.goto("/keys?env=sandbox");
  await hydrated(page);
  await expect(page.getByText("Export these keys")).toBeVisible();
  await expect(page.getByTestId("export-keys-csv")).toHaveAttribute("href", /env=sandbox/);
  const [keys] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-keys-csv").click()]);
  expect(keys.suggestedFilename()).toMatch(/^portico-export-co-keys-\d{8}\.csv$/);

  await page.getByRole("link", { name: "Audit trail" }).click();
  await hydrated(page);
  const [audit] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-audit-csv").click()]);
  expect(audit.suggestedFilename()).toMatch(/^portico-export-co-audit-\d{8}\.csv$/);
});

test("the audit trail is filtered by event and days, the filters stay in the address and go with the export", async ({ page }) => {
    await signUp(page, uniqueEmail("trail"), "Trail Co");
  await createKey(page, "Filtered key");
  // One key is one key.
  await page.goto("/");
  await expect(page.getByText("working sandbox key", { exact: true })).toBeVisible();
  await page.goto("/audit");
  await hydrated(page);
  // Creating the organisation is its first event.
  await expect(page.getByRole("cell", { name: "Member joined" })).toBeVisible();
  await page.getByLabel("What").selectOption({ label: "Created" });
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/\/audit\?.*action=created/);
  await expect(page.getByRole("cell", { name: "Member joined" })).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Filtered key" })).toBeVisible();
  await expect(page.getByText("Export these events")).toBeVisible();
  await expect(page.getByTestId("export-audit-csv")).toHaveAttribute("href", /action=created/);
  // Exact times on hover.
  await expect(page.locator(".audit-table time").first()).toHaveAttribute("title", /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);

  // A range with no events says so, with a way back.
  await page.getByLabel("To").fill("2020-01-01");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByRole("heading", { name: "No events match these filters" })).toBeVisible();
  await page.getByRole("link", { name: "Clear filters" }).click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByRole("cell", { name: "Member joined" })).toBeVisible();
});

test("list pages keep each date on one line at 1280 px and fit a 390 px phone without sideways scrolling", async ({ page }) => {
  await signUp(page, uniqueEmail("layout"), "Layout Co");
  await createKey(page, "Layout key with a rather long name for the list");
  for (const path of ["/keys", "/audit", "/members", "/account"]) {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(path);
    await hydrated(page);
    const times = page.locator("table time");
    await expect(times.first()).toBeVisible();
    for (const time of await times.all()) {
      const box = (await time.boundingBox())!;
      const lineHeight = await time.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight) || 24);
      expect(box.height, `${path}: "${await time.textContent()}" wraps`).toBeLessThan(lineHeight * 1.5);
    }
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(path);
    await hydrated(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${path} scrolls sideways at 390 px`).toBeLessThanOrEqual(0);
  }
});
