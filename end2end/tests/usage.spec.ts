import { test, expect, hydrated, signUp, uniqueEmail, enrolTotp, type Page } from "./fixtures";
import { portico, serverState } from "./server";

/** Creates a sandbox key through the form and returns its secret and page URL. */
async function createKey(page: Page, name: string): Promise<{ secret: string; url: string }> {
  await page.goto("/keys/new");
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Purpose").fill("Usage dashboard test");
  await page.getByRole("button", { name: "Create key" }).click();
  const secret = (await page.getByTestId("new-secret").textContent())!.trim();
  await page.getByLabel("I have stored this key somewhere safe").check();
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  return { secret, url: page.url() };
}

test("traffic through the sample API shows on the key's usage page", async ({ page, request }) => {
  await signUp(page, uniqueEmail("usage"), "Usage Co");
  const { secret, url } = await createKey(page, "Dashboard key");

  // The Try it box has a ready command for this key's scopes.
  await expect(page.getByTestId("try-it")).toContainText("/sample/v1/");
  await expect(page.getByTestId("try-it")).toContainText('Authorization: Bearer $PORTICO_KEY');

  for (let i = 0; i < 5; i++) {
    const ok = await request.get("/sample/v1/records", { headers: { Authorization: `Bearer ${secret}` } });
    expect(ok.status()).toBe(200);
  }
  for (let i = 0; i < 2; i++) {
    const denied = await request.delete("/sample/v1/records/rec_1", { headers: { Authorization: `Bearer ${secret}` } });
    expect(denied.status()).toBe(403);
    expect((await denied.json()).code).toBe("scope_denied");
  }

  await page.goto(`${url}/usage`);
  await expect(async () => {
    await page.reload();
    await expect(page.locator(".stat").first()).toContainText("7", { timeout: 1000 });
  }).toPass({ timeout: 10_000 });
  await expect(page.locator(".stat").nth(1)).toContainText("2");
  const chart = page.getByRole("img", { name: /Requests over the last 24 hours/ });
  await expect(chart).toBeVisible();
  await expect(page.locator("figcaption")).toContainText("7 requests in the last 24 hours, 2 refused");
  const byEndpoint = page.locator(".count-table", { hasText: "By endpoint" });
  await expect(byEndpoint.getByRole("cell", { name: "GET /v1/records", exact: true })).toBeVisible();
  await expect(byEndpoint.getByRole("cell", { name: "DELETE /v1/records/{id}", exact: true })).toBeVisible();
  await page.getByRole("link", { name: "7 days" }).click();
  await expect(page).toHaveURL(/range=7d/);
  await expect(page.locator("figcaption")).toContainText("7 requests in the last 7 days");

  // The key's page shows its last use; the organisation page lists it.
  await page.goto(url);
  await expect(page.locator(".details").first()).not.toContainText("Never");
  await expect(page.locator(".details").first()).toContainText("Requests, last 7 days7");
  await page.goto("/usage");
  await expect(page.getByRole("region", { name: "Per key" }).getByRole("row", { name: /Dashboard key/ })).toContainText("7");
  await expect(page.getByRole("heading", { name: "Recently refused" })).toBeVisible();
  await expect(page.getByRole("cell", { name: /scope_denied/ }).first()).toBeVisible();
});

test("staff make a gateway token, the gateway verifies with it, and revoking it stops it", async ({ page, request }) => {
  const email = uniqueEmail("staff");
  await signUp(page, email, "Platform Ops");
  portico("staff", "grant", email, "--role", "support");
  // The staff pages need a second factor; they say so until there is one.
  await page.goto("/staff");
  await expect(page.getByText("The staff pages need two-factor authentication.").first()).toBeVisible();
  await enrolTotp(page);
  await page.goto("/staff");
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Usage pipeline" })).toBeVisible();
  await expect(page.getByTestId("usage-stats")).toContainText("Dropped");

  await page.getByLabel("Name").fill("edge-e2e");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = (await page.getByTestId("new-gateway-token").textContent())!.trim();
  expect(token).toMatch(/^gwt_[0-9A-Za-z]{42}$/);

  const body = { key: "prt_test_not-a-real-key" };
  const answer = await request.post("/v1/verify", { headers: { Authorization: `Bearer ${token}` }, data: body });
  expect(answer.status()).toBe(200);
  expect((await answer.json()).code).toBe("malformed");

  await page.getByRole("button", { name: "Done" }).click();
  await page.getByRole("button", { name: "Revoke edge-e2e" }).click();
  await expect(page.getByRole("row", { name: /edge-e2e/ })).toContainText("Revoked");
  const refused = await request.post("/v1/verify", { headers: { Authorization: `Bearer ${token}` }, data: body });
  expect(refused.status()).toBe(401);
});

test("three clients on one key: found on its usage page by address and endpoint, a key of its own proposed for each good client, and the shared key revoked", async ({ page, request }) => {
  await signUp(page, uniqueEmail("clients"), "Clients Co");
  const { secret, url } = await createKey(page, "Shared reporting key");
  // Three services share the key: a reporting job, a dashboard, and a
  // script trying the export, each from its own address, through a gateway.
  const ask = (client: string, path: string) =>
    request.get("/v1/forward-auth", {
      headers: {
        Authorization: `Bearer ${secret}`,
        "X-Forwarded-Method": "GET",
        "X-Forwarded-Uri": path,
        "X-Forwarded-For": client,
      },
    });
  for (const [client, path, times, status] of [
    ["203.0.113.10", "/v1/records/1", 3, 200],
    ["203.0.113.20", "/v1/customers/7", 2, 200],
    ["203.0.113.30", "/v1/customers/export", 1, 403],
  ] as const) {
    for (let i = 0; i < times; i++) expect((await ask(client, path)).status()).toBe(status);
  }

  await page.goto(`${url}/usage`);
  await expect(async () => {
    await page.reload();
    await expect(page.locator(".stat").first()).toContainText("6", { timeout: 1000 });
  }).toPass({ timeout: 10_000 });
  const recent = page.getByRole("table", { name: "The most recent requests, newest first" });
  await expect(recent.getByRole("row")).toHaveCount(7);
  await expect(recent.getByRole("row").nth(1)).toContainText("Scope not held");

  // Who called the export? Narrow to the endpoint, from its row.
  await page.locator(".count-table", { hasText: "By endpoint" }).getByRole("link", { name: "GET /v1/customers/export" }).click();
  await expect(page).toHaveURL(/endpoint=GET%20\/v1\/customers\/export/);
  await expect(page.getByRole("region", { name: "Filter" })).toContainText("GET /v1/customers/export");
  await expect(page.locator(".stat").first()).toContainText("1");
  await expect(page.getByRole("img", { name: /Requests over/ })).toHaveCount(0);
  const callers = page.locator(".count-table", { hasText: "Top client addresses" });
  await expect(callers.getByRole("row")).toHaveCount(2);
  await expect(callers).toContainText("203.0.113.30");

  // What else does that client call? Swap the endpoint for its address.
  await callers.getByRole("link", { name: "203.0.113.30" }).click();
  await expect(page).toHaveURL(/addr=203.0.113.30/);
  // The address changes before the page does: wait for the page narrowed by both.
  await expect(page.getByRole("region", { name: "Filter" })).toContainText("203.0.113.30");
  await page.getByRole("link", { name: "Stop filtering by GET /v1/customers/export" }).click();
  await expect(page).not.toHaveURL(/endpoint=/);
  await expect(page.locator(".stat").first()).toContainText("1");
  // The period is kept while filtered.
  await page.getByRole("link", { name: "7 days" }).click();
  await expect(page).toHaveURL(/range=7d&addr=203.0.113.30/);
  await page.getByRole("link", { name: "Show all requests" }).click();
  await expect(page.locator(".stat").first()).toContainText("6");
  await expect(page.getByRole("img", { name: /Requests over/ })).toBeVisible();

  // The review proposes a key of its own for each good client, and none for the refused script.
  await page.goto("/review");
  await hydrated(page);
  const finding = page.getByTestId("review").getByRole("row", { name: /Shared reporting key/ }).filter({ hasText: "Used from 2 client addresses" });
  await finding.getByText("Give each client its own key").click();
  const proposals = finding.getByRole("table", { name: "The clients of Shared reporting key and the key proposed for each" });
  await expect(proposals.getByRole("row")).toHaveCount(4);
  await expect(proposals.getByRole("row", { name: /203\.0\.113\.30/ })).toContainText("only refused");
  await expect(proposals.getByRole("row", { name: /203\.0\.113\.10/ })).toContainText("records:read");
  await page.screenshot({ path: "test-results/review-shared-key.png", fullPage: true });
  const replacements: Record<string, string> = {};
  for (const [client, scope] of [["203.0.113.10", "records:read"], ["203.0.113.20", "customers:read"]]) {
    await page.goto("/review");
    await hydrated(page);
    await page.getByTestId("review").getByRole("row", { name: /Shared reporting key/ }).filter({ hasText: "Used from 2 client addresses" }).getByText("Give each client its own key").click();
    await page.getByRole("link", { name: `Create a key for ${client}` }).click();
    await expect(page).toHaveURL(new RegExp(`/keys/new\\?replace=.*&client=${client}`));
    await hydrated(page);
    // The form is filled in for this client alone, and says so.
    await expect(page.getByTestId("replacement")).toContainText(`A key of its own for ${client}`);
    await expect(page.getByLabel("Name", { exact: true })).toHaveValue(`Shared reporting key (${client})`);
    await expect(page.getByLabel("IP allowlist (optional)")).toHaveValue(client);
    await expect(page.getByRole("checkbox", { name: new RegExp(scope) })).toBeChecked();
    await expect(page.locator(".scope-picker input[type=checkbox]:checked")).toHaveCount(1);
    if (client === "203.0.113.10") await page.screenshot({ path: "test-results/key-for-client.png", fullPage: true });
    await page.getByRole("button", { name: "Create key" }).click();
    replacements[client] = (await page.getByTestId("new-secret").textContent())!.trim();
    await page.getByLabel("I have stored this key somewhere safe").check();
    await page.getByRole("button", { name: "Done" }).click();
    await expect(page.getByRole("heading", { level: 1, name: `Shared reporting key (${client})` })).toBeVisible();
  }

  // With each client on its own key, the shared one is revoked.
  await page.goto(url);
  await hydrated(page);
  await page.getByText("Revoke", { exact: true }).click();
  await page.getByLabel("Reason", { exact: true }).fill("Shared by three services; replaced, and the export script cut off");
  await page.getByRole("button", { name: "Revoke permanently" }).click();
  await expect(page.getByRole("heading", { name: "Revoked" })).toBeVisible();
  const old = await ask("203.0.113.30", "/v1/records/1");
  expect(old.status()).toBe(403);
  expect(old.headers()["portico-code"]).toBe("revoked");
  const own = (client: string, path: string) =>
    request.get("/v1/forward-auth", {
      headers: { Authorization: `Bearer ${replacements[client]}`, "X-Forwarded-Method": "GET", "X-Forwarded-Uri": path, "X-Forwarded-For": client },
    });
  expect((await own("203.0.113.10", "/v1/records/1")).status()).toBe(200);
  expect((await own("203.0.113.20", "/v1/customers/7")).status()).toBe(200);
  // Each holds only what its client used.
  const wider = await own("203.0.113.10", "/v1/customers/7");
  expect(wider.status()).toBe(403);
  expect(wider.headers()["portico-code"]).toBe("scope_denied");
});

test("people who are not staff cannot open the staff page", async ({ page }) => {
  await signUp(page, uniqueEmail("notstaff"), "Not Staff");
  await page.goto("/staff");
  await expect(page.getByText("This page is for the platform's staff only.")).toBeVisible();
});

test("the usage page and the docs work without JavaScript @nojs", async ({ page }) => {
  await signUp(page, uniqueEmail("nojs-usage"), "Static Charts");
  await page.goto("/usage");
  await expect(page.getByRole("img", { name: /Requests over the last 24 hours/ })).toBeVisible();
  await expect(page.locator("figcaption")).toContainText("No requests in the last 24 hours.");
  await page.getByRole("link", { name: "30 days" }).click();
  await expect(page.locator("figcaption")).toContainText("last 30 days");
  await page.goto("/docs");
  await expect(page.getByRole("heading", { name: "Verifying API keys" })).toBeVisible();
  const codes = page.getByRole("table").first().getByRole("row");
  await expect(codes).toHaveCount(13);
  const spec = await page.request.get(`${serverState().baseURL}/v1/openapi.json`);
  expect((await spec.json()).openapi).toBe("3.0.3");

  // The gateway guide, reached from the verification guide.
  await page.getByRole("link", { name: "Put Portico in front of your API" }).click();
  await expect(page).toHaveURL(/\/docs\/gateways$/);
  await expect(page.getByRole("heading", { level: 1, name: "Put Portico in front of your API" })).toBeVisible();
  for (const gateway of ["nginx", "Caddy", "Traefik", "Envoy"]) {
    await expect(page.getByRole("heading", { level: 2, name: gateway, exact: true })).toBeVisible();
  }
  // The tested configurations, whole, and each scrollable from the keyboard.
  const nginx = page.getByRole("region", { name: "nginx configuration" });
  await expect(nginx).toContainText("auth_request /_portico;");
  await expect(nginx).toContainText("location @portico_error");
  await expect(nginx).toHaveAttribute("tabindex", "0");
  await expect(page.getByRole("region", { name: "Caddyfile" })).toContainText("forward_auth");
  const answers = page.getByRole("table", { name: "Forward-auth answers" }).getByRole("row");
  await expect(answers).toHaveCount(6);
  await page.getByRole("link", { name: "Verifying keys" }).click();
  await expect(page.getByRole("heading", { name: "Verifying API keys" })).toBeVisible();
});

test("the header keeps the account menu beside the brand, chart labels stay inside the chart, and cards have no blank band", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await signUp(page, uniqueEmail("layout"), "Layout Co");
  await page.goto("/usage");
  await hydrated(page);

  // An admin's ten links do not push the account menu onto a row by itself.
  const brand = (await page.locator("header").getByRole("link", { name: "Portico", exact: true }).boundingBox())!;
  const account = (await page.locator(".account-menu summary").boundingBox())!;
  expect(Math.abs(account.y + account.height / 2 - (brand.y + brand.height / 2))).toBeLessThan(brand.height);

  // The bell is drawn, so it shows without an emoji font, and is named for screen readers.
  const bell = page.locator("header").getByRole("link", { name: /^Notifications/ });
  await expect(bell.locator("svg")).toBeVisible();
  await expect(bell).not.toContainText("🔔");

  // Every axis label lies within the chart, the first and last ones included.
  const chart = (await page.locator(".chart svg").boundingBox())!;
  const labels = page.locator(".chart svg text.axis-label");
  expect(await labels.count()).toBeGreaterThanOrEqual(4);
  for (const label of await labels.all()) {
    const box = (await label.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(chart.x - 0.5);
    expect(box.x + box.width).toBeLessThanOrEqual(chart.x + chart.width + 0.5);
  }

  // A card's heading starts at the card's padding, with no blank band above it.
  await page.goto("/members");
  const card = page.getByRole("region", { name: "Invite someone" });
  const cardBox = (await card.boundingBox())!;
  const headingBox = (await card.getByRole("heading", { name: "Invite someone" }).boundingBox())!;
  expect(headingBox.y - cardBox.y).toBeLessThan(36);
});

test("a key is exchanged for a short-lived token that the sample API accepts, and its page counts it", async ({ page, request }) => {
  await signUp(page, uniqueEmail("tokens"), "Token Co");
  const { secret, url } = await createKey(page, "Token key");

  const line = (await page.getByTestId("token-request").textContent())!;
  expect(line).toContain("grant_type=client_credentials");
  const keyId = /-u "([^:]+):\$PORTICO_KEY"/.exec(line)![1];
  await expect(page.getByTestId("tokens-minted")).toHaveText("No tokens minted in the last 24 hours.");
  await expect(page.getByRole("region", { name: "Exchange for short-lived tokens" })).toContainText("10 minutes");

  const basic = Buffer.from(`${keyId}:${secret}`).toString("base64");
  const granted = await request.post("/oauth/token", {
    headers: { Authorization: `Basic ${basic}` },
    form: { grant_type: "client_credentials" },
  });
  expect(granted.status()).toBe(200);
  const token = (await granted.json()).access_token as string;
  const ok = await request.get("/sample/v1/records", { headers: { Authorization: `Bearer ${token}` } });
  expect(ok.status()).toBe(200);
  const wrong = await request.post("/oauth/token", {
    headers: { Authorization: `Basic ${Buffer.from(`${keyId}:nope`).toString("base64")}` },
    form: { grant_type: "client_credentials" },
  });
  expect(wrong.status()).toBe(401);
  expect((await wrong.json()).error).toBe("invalid_client");

  await page.goto(url);
  await expect(page.getByTestId("tokens-minted")).toHaveText("1 token minted in the last 24 hours.");
  await page.getByRole("link", { name: "access tokens in the guide" }).click();
  await expect(page.getByRole("heading", { name: "Short-lived access tokens" })).toBeVisible();
});
