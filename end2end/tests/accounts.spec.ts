import { test, expect, hydrated, signIn, signUp, uniqueEmail, GOOD_PASSWORD, confirmationLink, enrolTotp, freshCode, linkInMail, mailTo, saveRecoveryCodes } from "./fixtures";

test("a person signs up creating an organisation, signs out and signs in again, by keyboard alone @nojs", async ({ page }) => {
  const email = uniqueEmail("keyboard");
  await page.goto("/signup");
  await hydrated(page);

  // The email field has the focus when the page opens.
  await expect(page.getByLabel("Work email")).toBeFocused();
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Password", { exact: true })).toBeFocused();
  await page.keyboard.type(GOOD_PASSWORD);
  await page.keyboard.press("Tab");
  if (await page.getByRole("button", { name: "Show password" }).isVisible()) {
    await expect(page.getByRole("button", { name: "Show password" })).toBeFocused();
    await page.keyboard.press("Tab");
  }
  await expect(page.getByLabel("Organisation name")).toBeFocused();
  await page.keyboard.type("Keyboard Works");
  await page.keyboard.press("Enter");

  // Sign-up asks to confirm the address; sign in by keyboard, then open the link.
  await expect(page.getByRole("heading", { level: 1, name: "Check your inbox" })).toBeVisible();
  await page.goto("/signin");
  await hydrated(page);
  await expect(page.getByLabel("Email")).toBeFocused();
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(GOOD_PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("confirm-banner")).toBeVisible();
  await page.goto(await confirmationLink(email));
  await hydrated(page);
  const confirm = page.getByRole("button", { name: "Confirm my address" });
  await confirm.focus();
  await page.keyboard.press("Enter");

  await expect(page).toHaveURL(/\/(\?confirmed=1)?$/);
  await expect(page.getByRole("heading", { level: 1, name: "Keyboard Works" })).toBeVisible();
  await expect(page.getByText("No API keys yet")).toBeVisible();
  // The header says which organisation this is.
  await expect(page.getByRole("banner")).toContainText("Keyboard Works");

  // Sign out through the account menu, by keyboard.
  const menu = page.locator(".account-menu summary");
  await menu.focus();
  await page.keyboard.press("Enter");
  const signOut = page.getByRole("button", { name: "Sign out" });
  await signOut.focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/signin/);
  await expect(page.getByRole("heading", { name: "Sign in to Portico" })).toBeVisible();

  // The dashboard now sends us to sign in, and back afterwards.
  await page.goto("/");
  await expect(page).toHaveURL(/\/signin\?next=\/$/);
  await hydrated(page);
  await expect(page.getByLabel("Email")).toBeFocused();
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(GOOD_PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 1, name: "Keyboard Works" })).toBeVisible();
});

test("sign-up errors appear next to their fields and nothing typed is lost", async ({ page }) => {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Work email").fill("not-an-email");
  await page.getByLabel("Password", { exact: true }).fill("short");
  await page.getByLabel("Organisation name").fill("Acme");
  await page.getByRole("button", { name: "Create account" }).click();

  const email = page.getByLabel("Work email");
  await expect(email).toHaveAttribute("aria-invalid", "true");
  await expect(page.locator("#field-email-error")).toHaveText(/name@example\.com/);
  await expect(page.locator("#field-password-error")).toHaveText(/at least 15 characters/);
  // The first invalid field takes the focus, and what was typed stays.
  await expect(email).toBeFocused();
  await expect(email).toHaveValue("not-an-email");
  await expect(page.getByLabel("Organisation name")).toHaveValue("Acme");
});

test("a common password is refused with a reason", async ({ page }) => {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Work email").fill(uniqueEmail());
  await page.getByLabel("Password", { exact: true }).fill("passwordpassword");
  await page.getByLabel("Organisation name").fill("Acme");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#field-password-error")).toHaveText(/too easy to guess/);
});

test("a wrong password is refused without saying which part was wrong", async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email, "Wrong Password Ltd");
  await page.context().clearCookies();
  await signIn(page, email, "paper lantern orbit velvetX");
  await expect(page.getByRole("alert").filter({ hasText: "do not match" })).toBeVisible();
  await signIn(page, uniqueEmail("nobody"), "paper lantern orbit velvetX");
  await expect(page.getByRole("alert").filter({ hasText: "do not match" })).toBeVisible();
});

test("the password can be shown and hidden once the page is interactive", async ({ page }) => {
  await page.goto("/signin");
  await hydrated(page);
  const password = page.getByLabel("Password", { exact: true });
  await password.fill("secret words here");
  await expect(password).toHaveAttribute("type", "password");
  const toggle = page.getByRole("button", { name: "Show password" });
  await toggle.click();
  await expect(password).toHaveAttribute("type", "text");
  await expect(page.getByRole("button", { name: "Hide password" })).toHaveAttribute("aria-pressed", "true");
});

test("an unknown address answers 404 with a way back @nojs", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});

test("the bundle is named by its content and cached for a year, pages never", async ({ page, request }) => {
  const response = await page.goto("/signin");
  expect(response?.headers()["cache-control"]).toBe("no-store");
  await hydrated(page);
  // The page preloads nothing: the bundle is fetched after the page's load.
  await expect(page.locator('link[rel="modulepreload"], link[rel="preload"]')).toHaveCount(0);
  const fetched = await page.evaluate(() =>
    performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname));
  const script = fetched.find((p) => /^\/pkg\/portico\.[^/]+\.js$/.test(p));
  const wasm = fetched.find((p) => /^\/pkg\/portico\.[^/]+\.wasm$/.test(p));
  const stylesheet = await page.locator('link[rel="stylesheet"]').first().getAttribute("href");
  for (const asset of [script!, wasm!, stylesheet!]) {
    expect(asset).toMatch(/^\/pkg\/portico\.[A-Za-z0-9_-]{16,}\.(js|wasm|css)$/);
    const answer = await request.get(asset, { headers: { "Accept-Encoding": "br, gzip" } });
    expect(answer.status()).toBe(200);
    expect(answer.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
  }
  // The page is styled by that stylesheet: the skip link waits off screen.
  await expect(page.locator(".skip-link")).toHaveCSS("position", "absolute");
  const missing = await request.get("/pkg/portico.nosuchhash000000000.js");
  expect(missing.status()).toBe(404);
  expect(missing.headers()["cache-control"]).toBe("no-cache");
});

test("the account page lists where you are signed in, ends another session and changes the password", async ({ page, browser }) => {
  const email = uniqueEmail("sessions");
  await signUp(page, email, "Session Keepers");
  // The same person signs in from a second browser.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await signIn(otherPage, email);
  await expect(otherPage.getByRole("heading", { level: 1, name: "Session Keepers" })).toBeVisible();

  await page.goto("/account");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Account" })).toBeVisible();
  const sessions = page.getByTestId("sessions");
  await expect(sessions.locator("tbody tr")).toHaveCount(2);
  await expect(sessions.locator("tbody tr").first()).toContainText("This session");

  await page.getByRole("button", { name: "Sign out the other session" }).click();
  await expect(sessions.locator("tbody tr")).toHaveCount(1);
  await expect(page.getByText("You are signed in nowhere else.")).toBeVisible();
  await otherPage.goto("/keys");
  await expect(otherPage).toHaveURL(/\/signin/);

  // Change the password, by keyboard; a wrong current password is said next to its field.
  const form = page.getByTestId("change-password");
  await form.getByLabel("Current password").fill("not the password at all");
  await form.getByLabel("New password").fill("quiet harbour copper lantern");
  await form.getByLabel("New password").press("Enter");
  await expect(form.getByLabel("Current password")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText("That is not your current password.")).toBeVisible();
  await form.getByLabel("Current password").fill(GOOD_PASSWORD);
  await form.getByLabel("Current password").press("Enter");
  await expect(page.getByText("Your password was changed.")).toBeVisible();
  await other.close();
});

test("two-factor: set up an authenticator app, sign in with password and code by keyboard, and a recovery code works once", async ({ page, browser }) => {
  // A code works once: signing in right after setting up may wait for the app's next code.
  test.setTimeout(120_000);
  const email = uniqueEmail("totp");
  await signUp(page, email, "Second Factor Co");
  const { secret, used, recoveryCodes } = await enrolTotp(page);
  await expect(page.getByText("10 recovery codes left")).toBeVisible();

  // Sign out, then in: the password first, then the code, by keyboard.
  const menu = page.locator(".account-menu summary");
  await menu.click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin/);
  await page.goto("/keys");
  await expect(page).toHaveURL(/\/signin\?next=/);
  await hydrated(page);
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(GOOD_PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/signin\/code\?next=\/keys/);
  await hydrated(page);
  await expect(page.getByLabel("Code")).toBeFocused();
  await page.keyboard.type("000000" === used ? "111111" : "000000");
  await page.keyboard.press("Enter");
  await expect(page.getByLabel("Code")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText(/That code is not right/)).toBeVisible();
  await page.getByLabel("Code").fill("");
  await page.getByLabel("Code").focus();
  await page.keyboard.type(await freshCode(secret, used));
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/keys$/);
  await expect(page.getByRole("heading", { level: 1, name: "API keys" })).toBeVisible();

  // A lost phone: a recovery code signs in once, in another browser.
  const other = await browser.newContext();
  const lost = await other.newPage();
  await signIn(lost, email);
  await expect(lost).toHaveURL(/\/signin\/code/);
  await hydrated(lost);
  await lost.getByLabel("Code").fill(recoveryCodes[0]);
  await lost.getByRole("button", { name: "Verify" }).click();
  await expect(lost.getByRole("heading", { level: 1, name: "Second Factor Co" })).toBeVisible();
  await lost.goto("/account");
  await expect(lost.getByText("9 recovery codes left")).toBeVisible();
  await other.close();

  const again = await (await browser.newContext()).newPage();
  await signIn(again, email);
  await expect(again).toHaveURL(/\/signin\/code/);
  await hydrated(again);
  await again.getByLabel("Code").fill(recoveryCodes[0]);
  await again.getByRole("button", { name: "Verify" }).click();
  await expect(again.getByText(/That code is not right/)).toBeVisible();
});

test("two-factor: add a security key, sign in with it by keyboard, fall back to a recovery code, and remove it", async ({ page }) => {
  const email = uniqueEmail("webauthn");
  await signUp(page, email, "Key Co");
  // Chromium's virtual authenticator: a USB security key whose touch the
  // browser simulates, kept for this page across sign-out and sign-in.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "usb",
      hasResidentKey: false,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });

  await page.goto("/account");
  await hydrated(page);
  await page.getByText("Add a security key").click();
  await page.getByLabel("Name").fill("Desk key");
  await page.getByTestId("add-security-key").getByLabel("Current password").fill("not the password");
  await page.getByTestId("add-security-key").getByLabel("Current password").press("Enter");
  await expect(page.getByTestId("add-security-key").getByLabel("Current password")).toHaveAttribute("aria-invalid", "true");
  let credentials = (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
  expect(credentials, "a wrong password never reaches the key").toHaveLength(0);
  await page.getByTestId("add-security-key").getByLabel("Current password").fill(GOOD_PASSWORD);
  await page.getByTestId("add-security-key").getByLabel("Current password").press("Enter");

  // The first second factor brings the recovery codes, shown once.
  const recoveryCodes = await saveRecoveryCodes(page);
  await expect(page.getByTestId("security-keys")).toContainText("Desk key");
  await expect(page.getByTestId("security-keys")).toContainText("not used yet");
  credentials = (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
  expect(credentials).toHaveLength(1);
  await expect.poll(() => mailTo(email).some((m) => m.includes("A security key was added"))).toBe(true);
  await expect(page.getByTestId("security-activity")).toContainText("A security key was added");

  // The same key again: the browser refuses it, as the portal excluded it.
  await page.getByText("Add a security key").click();
  await page.getByLabel("Name").fill("Same key");
  await page.getByTestId("add-security-key").getByLabel("Current password").fill(GOOD_PASSWORD);
  await page.getByTestId("add-security-key").getByLabel("Current password").press("Enter");
  await expect(page.getByText("This security key is registered to your account already.")).toBeVisible();
  await expect(page.getByTestId("security-keys").locator("li")).toHaveCount(1);

  // Sign out, then in: the password, then the key, by keyboard.
  await page.locator(".account-menu summary").click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin/);
  await page.goto("/keys");
  await expect(page).toHaveURL(/\/signin\?next=/);
  await hydrated(page);
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(GOOD_PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/signin\/code\?next=\/keys/);
  await hydrated(page);
  await expect(page.getByText("Touch your security key to finish signing in.")).toBeVisible();
  const useKey = page.getByRole("button", { name: "Use your security key" });
  await useKey.focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/keys$/);
  await expect(page.getByRole("heading", { level: 1, name: "API keys" })).toBeVisible();
  credentials = (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
  expect(credentials[0].signCount).toBeGreaterThan(0);

  // The key lost: the browser finds no credential for the portal; a
  // recovery code signs in instead.
  await cdp.send("WebAuthn.clearCredentials", { authenticatorId });
  await page.locator(".account-menu summary").click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin/);
  await signIn(page, email);
  await expect(page).toHaveURL(/\/signin\/code/);
  await hydrated(page);
  await page.getByRole("button", { name: "Use your security key" }).click();
  await expect(page.getByText(/The security key did not answer/)).toBeVisible({ timeout: 70_000 });
  await page.getByLabel("Recovery code").fill(recoveryCodes[0]);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Key Co" })).toBeVisible();

  // Removing the only second factor needs the password, and turns two-factor off.
  await page.goto("/account");
  await hydrated(page);
  await expect(page.getByTestId("security-keys")).toContainText(/last used/);
  await expect(page.getByTestId("security-activity").locator("summary").first()).toContainText("A recovery code was used");
  await page.getByText("Remove a security key").click();
  await expect(page.getByText("It is your only second factor")).toBeVisible();
  await page.getByLabel("Key", { exact: true }).selectOption({ label: "Desk key" });
  const removeForm = page.locator("details", { hasText: "Remove a security key" });
  await removeForm.getByLabel("Current password").fill(GOOD_PASSWORD);
  await removeForm.getByRole("button", { name: "Remove the security key" }).click();
  await expect(page.getByTestId("security-keys")).toHaveCount(0);
  await expect(page.getByTestId("two-factor-on")).toHaveCount(0);
});

test("an organisation that requires two factors sends a member without one to set it up first", async ({ page }) => {
  const email = uniqueEmail("policy2fa");
  await signUp(page, email, "Strict Co");
  await page.goto("/policy");
  await hydrated(page);
  // An admin without a second factor cannot lock themselves out.
  await page.getByRole("button", { name: "Require two-factor authentication" }).click();
  await expect(page.getByText("Set up two-factor authentication for yourself first")).toBeVisible();
  await enrolTotp(page);
  await page.goto("/policy");
  await hydrated(page);
  await page.getByRole("button", { name: "Require two-factor authentication" }).click();
  await expect(page.getByTestId("two-factor-policy")).toContainText("Required: every member");
  await expect(page.getByRole("button", { name: "Stop requiring two-factor authentication" })).toBeVisible();
  await page.goto("/members");
  await expect(page.getByTestId("members").getByRole("row", { name: new RegExp(email) })).toContainText("On");
});

test("a forgotten password is reset from the emailed link, by keyboard, and every other session ends", async ({ page, browser }) => {
  const email = uniqueEmail("forgot");
  await signUp(page, email, "Forgetful Co");
  // Another browser stays signed in until the reset.
  const other = await (await browser.newContext()).newPage();
  await signIn(other, email);
  await expect(other.getByRole("heading", { level: 1, name: "Forgetful Co" })).toBeVisible();

  const person = await (await browser.newContext()).newPage();
  await person.goto("/signin");
  await hydrated(person);
  await person.getByRole("link", { name: "Forgot your password?" }).click();
  await hydrated(person);
  await person.getByLabel("Email").fill(email);
  await person.getByLabel("Email").press("Enter");
  const link = await linkInMail(email, "/reset");
  await person.goto(link);
  await hydrated(person);
  await person.getByLabel("New password").fill("quiet harbour copper lantern");
  await person.getByLabel("New password").press("Enter");
  await expect(person).toHaveURL(/\/signin\?reset=done/);
  await expect(person.getByText("Your password was changed and every session of your account was signed out.")).toBeVisible();

  // The link works once; the old password no longer signs in; the new one does.
  await person.goto(link);
  await expect(person.getByText(/expired or has been used/)).toBeVisible();
  await signIn(person, email);
  await expect(person.getByRole("alert").filter({ hasText: "do not match" })).toBeVisible();
  await signIn(person, email, "quiet harbour copper lantern");
  await expect(person.getByRole("heading", { level: 1, name: "Forgetful Co" })).toBeVisible();
  await other.goto("/keys");
  await expect(other).toHaveURL(/\/signin/);
  // The account was told.
  expect(mailTo(email).some((m) => /Subject: .*password/i.test(m))).toBe(true);
});

test("changing the email address takes the password and the new address's emailed link", async ({ page }) => {
  const email = uniqueEmail("mover");
  const next = uniqueEmail("moved");
  await signUp(page, email, "Moving Co");
  await page.goto("/account");
  await hydrated(page);
  const form = page.getByTestId("change-email");
  await form.getByLabel("New email address").fill(next);
  await form.getByLabel("Current password").fill("not the password at all");
  await form.getByLabel("Current password").press("Enter");
  await expect(page.getByText("That is not your current password.")).toBeVisible();
  await form.getByLabel("Current password").fill(GOOD_PASSWORD);
  await form.getByLabel("Current password").press("Enter");
  await expect(page.getByText(/Check the new address's inbox/)).toBeVisible();
  await page.goto(await linkInMail(next, "/verify-email"));
  await hydrated(page);
  await page.getByRole("button", { name: "Confirm my address" }).click();
  // Confirmed once the portal moves on; leaving sooner would cancel it.
  await expect(page).toHaveURL(/\/(\?confirmed=1)?$/);
  await page.goto("/account");
  await expect(page.locator(".lede")).toHaveText(`Signed in as ${next}.`);
  // The old address was told.
  expect(mailTo(email).some((m) => m.includes(next))).toBe(true);
});
