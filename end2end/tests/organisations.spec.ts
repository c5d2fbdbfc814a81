import { test, expect, hydrated, signUp, uniqueEmail, GOOD_PASSWORD, finishSignUp } from "./fixtures";
import { serverState } from "./server";

test("an invited person joins an existing organisation", async ({ page, browser }) => {
  const adminEmail = uniqueEmail("admin");
  await signUp(page, adminEmail, "Invite Co");
  await page.getByRole("link", { name: "Invite your team" }).click();
  await expect(page.getByRole("heading", { name: "Members of Invite Co" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Role").selectOption("developer");
  await page.getByRole("button", { name: "Create invitation link" }).click();
  const link = await page.getByTestId("invitation-link").inputValue();
  expect(link).toMatch(/\/join\?token=[0-9a-f]{64}$/);

  // The newcomer opens the link in their own browser.
  const newcomer = await browser.newContext({ baseURL: serverState().baseURL });
  const other = await newcomer.newPage();
  await other.goto(link);
  await hydrated(other);
  await expect(other.getByRole("heading", { name: "Join Invite Co" })).toBeVisible();
  await expect(other.getByText(`${adminEmail} invited you to join as Developer`)).toBeVisible();
  const devEmail = uniqueEmail("joiner");
  await other.getByLabel("Work email").fill(devEmail);
  await other.getByLabel("Password", { exact: true }).fill(GOOD_PASSWORD);
  await other.getByRole("button", { name: "Create account and join" }).click();
  await finishSignUp(other, devEmail);
  await expect(other.getByRole("heading", { level: 1, name: "Invite Co", exact: true })).toBeVisible();
  await expect(other.getByText("You are a developer in this organisation.")).toBeVisible();
  // Developers see the team but cannot invite.
  await other.getByRole("link", { name: "Team" }).click();
  await expect(other.getByRole("cell", { name: adminEmail, exact: true })).toBeVisible();
  await expect(other.getByRole("button", { name: "Create invitation link" })).toHaveCount(0);

  // The link works once.
  const third = await (await browser.newContext({ baseURL: serverState().baseURL })).newPage();
  await third.goto(link);
  await expect(third.getByText("already been used")).toBeVisible();

  // The admin sees the new member and who used the link.
  await page.reload();
  await expect(page.getByRole("cell", { name: devEmail, exact: true })).toBeVisible();
  await expect(page.getByRole("cell", { name: `Accepted by ${devEmail}` })).toBeVisible();
  await newcomer.close();
});

test("a member of two organisations switches between them", async ({ page }) => {
  await signUp(page, uniqueEmail("multi"), "First Org");
  await page.goto("/organisations/new");
  await hydrated(page);
  await page.getByLabel("Organisation name").fill("Second Org");
  await page.getByRole("button", { name: "Create organisation" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Second Org" })).toBeVisible();
  await page.getByLabel("Organisation").selectOption({ label: "First Org (Admin)" });
  await expect(page.getByRole("heading", { level: 1, name: "First Org" })).toBeVisible();
  await page.reload();
  await expect(page.getByRole("heading", { level: 1, name: "First Org" })).toBeVisible();
});

test("the one-time setup link creates the platform owner and then stops working", async ({ page, browser }) => {
  const { setupLink, baseURL } = serverState();
  await page.goto(setupLink);
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Set up Portico" })).toBeVisible();
  await page.getByLabel("Email").fill(uniqueEmail("owner"));
  await page.getByLabel("Password", { exact: true }).fill(GOOD_PASSWORD);
  await page.getByRole("button", { name: "Create owner account" }).click();
  await expect(page.getByRole("heading", { name: "You are not in an organisation yet" })).toBeVisible();
  await expect(page.getByText("You are platform staff (Owner)")).toBeVisible();

  const again = await (await browser.newContext({ baseURL })).newPage();
  await again.goto(setupLink);
  await expect(again.getByText("This setup link no longer works")).toBeVisible();
});
