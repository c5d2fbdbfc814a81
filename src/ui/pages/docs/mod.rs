//! `/docs`: how the platform's gateway and Rust services verify keys, and
//! trade them for short-lived access tokens.

pub mod access_tokens;
pub mod gateways;

use crate::domain::verify::VerifyCode;
use access_tokens::AccessTokensGuide;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

const CURL: &str = r#"curl -s https://keys.example.com/v1/verify \
  -H "Authorization: Bearer $GATEWAY_TOKEN" \
  -H "Content-Type: application/json" \
  -d '{"key": "prt_live_…", "method": "GET", "path": "/v1/records/42",
       "client_ip": "203.0.113.7", "environment": "production"}'"#;

const ANSWER: &str = r#"{
  "valid": true,
  "code": "ok",
  "key_id": "AbCdEfGhIj",
  "org_id": 42,
  "environment": "production",
  "scopes": ["records:read", "records:write"],
  "expires_at": "2027-02-25T12:00:00Z",
  "scope": "records:read",
  "retry_after": null
}"#;

const RUST_LAYER: &str = r#"use portico::server::verify::layer::{VerifiedKey, VerifyLayer};
use tower::Layer;

let api = Router::new().route("/v1/records/{id}", get(get_record));
// Around the whole router: the check runs before routing, on the canonical
// path, and the router is handed that path.
let app = Router::new().fallback_service(
    VerifyLayer::new(state.clone()).environment(Environment::Production).layer(api),
);

async fn get_record(Extension(key): Extension<VerifiedKey>, Path(id): Path<String>) -> Json<Record> {
    // Only requests whose key holds records:read get here.
    load_record(key.org_id, &id).await
}"#;

const RUST_CLIENT: &str = r#"let answer: serde_json::Value = reqwest::Client::new()
    .post("https://keys.example.com/v1/verify")
    .bearer_auth(&gateway_token)
    .json(&serde_json::json!({ "key": presented, "scope": "records:read" }))
    .send().await?
    .json().await?;
if answer["valid"] != true {
    return Err(Refused(answer["code"].as_str().unwrap_or("unknown").to_owned()));
}"#;

/// The verification guide.
#[component]
pub fn DocsPage() -> impl IntoView {
    view! {
        <Title text="Verifying keys" />
        <article class="docs">
            <h1>"Verifying API keys"</h1>
            <p class="lede">
                "Your API gateway asks Portico, for every request, whether the key it carries may do what the request asks. "
                "Portico answers in microseconds from memory and records the use, so owners and admins can see it."
            </p>

            <p>
                "Behind nginx, Caddy, Traefik or Envoy? "
                <A href="/docs/gateways">"Put Portico in front of your API"</A>
                " with the gateway's own authorisation check, without code."
            </p>

            <h2 id="verify">"POST /v1/verify"</h2>
            <p>
                "Authenticate with a gateway token (staff make them under Staff › Gateway tokens, or operators with "
                <code>"portico gateway-token create NAME"</code>
                "). Send the key, and either the scope the request needs or its method and path; "
                "Portico maps method and path to a scope through the scope catalog."
            </p>
            <pre class="code">
                <code>{CURL}</code>
            </pre>
            <p>
                "Every decision is a 200 with " <code>"valid"</code> " and a " <code>"code"</code>
                ":"
            </p>
            <pre class="code">
                <code>{ANSWER}</code>
            </pre>
            <p>
                "A body that is not JSON is a 400 and a missing or revoked gateway token a 401, both with "
                <code>"{\"error\": …, \"message\": …}"</code> ". The full description is "
                <a href="/v1/openapi.json">"/v1/openapi.json"</a> " (OpenAPI 3)."
            </p>
            <h3 id="what-is-checked">"What is checked"</h3>
            <ul>
                <li>
                    "Send " <code>"scope"</code> ", or " <code>"method"</code> " and "
                    <code>"path"</code>
                    " together, or both (the key must then hold both). Only a request that names neither is checked without a scope."
                </li>
                <li>
                    "Anything partial is a 400, never a check without a scope: a method without a path, an empty scope or path, and any field Portico does not know (a misspelt "
                    <code>"scop"</code> ")."
                </li>
                <li>
                    "Scopes are decided on one canonical form of the path: escapes of plain characters decoded, "
                    <code>"."</code> " and " <code>".."</code>
                    " resolved, repeated slashes merged, the query dropped. Catalog words match however your upstream could read them: without case, trailing dots, format suffixes or a Windows stream name, and after Unicode folding without accents. So "
                    <code>"/v1/customers/%65xport"</code> " and "
                    <code>"/v1/customers/export.json"</code> " are the export."
                </li>
                <li>
                    "A path your upstream could read as another endpoint is a 400: an encoded "
                    <code>"/"</code> ", " <code>"\\"</code> ", " <code>"%"</code> ", "
                    <code>";"</code> ", " <code>"?"</code> " or " <code>"#"</code> ", an encoded "
                    <code>".."</code> ", a raw " <code>"\\"</code> ", " <code>";"</code> " or "
                    <code>"#"</code>
                    ", a bad escape, spaces or control characters. Refuse the client's request when Portico answers anything but 200."
                </li>
                <li>
                    <code>"HEAD"</code>
                    " needs what "
                    <code>"GET"</code>
                    " of the same path needs."
                </li>
                <li>
                    <code>"retry_after"</code>
                    " is whole seconds, rounded up: a client that waits that long gets through."
                </li>
            </ul>

            <h2 id="codes">"Codes"</h2>
            <table class="table">
                <caption class="visually-hidden">
                    "Verification codes, in the order the checks are made"
                </caption>
                <thead>
                    <tr>
                        <th scope="col">"Code"</th>
                        <th scope="col">"Meaning"</th>
                        <th scope="col">"Answer your client with"</th>
                    </tr>
                </thead>
                <tbody>
                    {VerifyCode::ALL
                        .into_iter()
                        .map(|c| {
                            view! {
                                <tr>
                                    <td class="mono">{c.as_str()}</td>
                                    <td>{c.describe()}</td>
                                    <td>{c.http_status()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            <p>
                "Checks run cheapest first: the key's checksum (no lookup for typos and made-up strings), the in-memory cache, "
                "the secret, then state, environment, IP allowlist, scope and rate limit. Revoking, suspending or rotating a key "
                "takes effect at once, on every Portico instance."
            </p>

            <h2 id="rust">"In a Rust service"</h2>
            <p>
                "Services built with axum can mount the same check in-process, as a tower layer, instead of calling /v1/verify:"
            </p>
            <pre class="code">
                <code>{RUST_LAYER}</code>
            </pre>
            <p>"Or call the endpoint from any Rust client:"</p>
            <pre class="code">
                <code>{RUST_CLIENT}</code>
            </pre>

            <AccessTokensGuide />

            <h2 id="try">"Try it"</h2>
            <p>
                "Portico serves a small sample API under " <code>"/sample/v1/…"</code>
                ", guarded by the layer above. " "Each key's page has a ready " <code>"curl"</code>
                " line: requests there show up on the key's usage page."
            </p>
            <p>
                <A href="/keys">"Go to your keys"</A>
            </p>
        </article>
    }
}
