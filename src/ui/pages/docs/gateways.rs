//! `/docs/gateways`: putting Portico in front of an API with a stock gateway
//! (nginx, Caddy, Traefik, Envoy) through `/v1/forward-auth`.
//!
//! The configurations shown are the files the integration tests run
//! (`tests/gateways/`), so the page cannot drift from what was tested.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

const NGINX: &str = include_str!("../../../../tests/gateways/nginx.conf");
const CADDY: &str = include_str!("../../../../tests/gateways/Caddyfile");
const TRAEFIK: &str = include_str!("../../../../tests/gateways/traefik.yml");
const ENVOY: &str = include_str!("../../../../tests/gateways/envoy.yaml");

const TRY_IT: &str = r#"curl -i https://keys.example.com/v1/forward-auth \
  -H "Portico-Gateway-Token: $GATEWAY_TOKEN" \
  -H "X-Forwarded-Method: GET" -H "X-Forwarded-Uri: /v1/records/42" \
  -H "X-Forwarded-For: 203.0.113.7" \
  -H "Authorization: Bearer prt_test_…"

HTTP/1.1 200 OK
portico-code: ok
portico-key-id: AbCdEfGhIj
portico-org-id: 42
portico-environment: sandbox
portico-scopes: records:read"#;

/// One row of the table of what Portico reads.
struct Source {
    what: &'static str,
    from: &'static str,
}

const SOURCES: [Source; 5] = [
    Source {
        what: "The gateway",
        from: "Its gateway token in Portico-Gateway-Token (or Proxy-Authorization: Bearer gwt_…), or the address it connects from, when the operator lists it in PORTICO_GATEWAY_ADDRESSES. Anything else is refused with 401 and no key is checked.",
    },
    Source {
        what: "The key",
        from: "Authorization: Bearer …, else X-API-Key (the operator can name another header).",
    },
    Source {
        what: "The original request",
        from: "X-Forwarded-Method and X-Forwarded-Uri (Caddy, Traefik), X-Original-Method and X-Original-URI (nginx), or the method and the path after /v1/forward-auth (Envoy). When several are present they must name the same request: a client could send the ones your gateway does not set.",
    },
    Source {
        what: "The client's address",
        from: "The last X-Forwarded-For entry, the one your gateway appended; else X-Real-IP. Entries a client wrote before it prove nothing.",
    },
    Source {
        what: "The environment",
        from: "Optionally, Portico-Upstream-Environment: production, so that sandbox keys are refused with env_mismatch.",
    },
];

/// One row of the table of answers.
struct Outcome {
    status: &'static str,
    when: &'static str,
    headers: &'static str,
}

const OUTCOMES: [Outcome; 5] = [
    Outcome {
        status: "200",
        when: "The key may do this.",
        headers: "Portico-Key-Id, Portico-Org-Id, Portico-Environment, Portico-Scopes (space-separated): copy these to your upstream.",
    },
    Outcome {
        status: "401",
        when: "No key was identified: missing, malformed, unknown, or a wrong secret.",
        headers: "WWW-Authenticate: Bearer",
    },
    Outcome {
        status: "403",
        when: "The key is known but may not do this: scope, address, environment, revoked, suspended, waiting for approval, expired.",
        headers: "",
    },
    Outcome {
        status: "429",
        when: "The key's rate limit is reached.",
        headers: "Retry-After, in whole seconds.",
    },
    Outcome {
        status: "400",
        when: "The request cannot be decided: a path your upstream could read as another endpoint, or conventions that disagree.",
        headers: "",
    },
];

/// The forward-auth guide.
#[component]
pub fn GatewaysDocsPage() -> impl IntoView {
    view! {
        <Title text="Put Portico in front of your API" />
        <article class="docs">
            <p class="breadcrumb">
                <A href="/docs">"Verifying keys"</A>
                " › Gateways"
            </p>
            <h1>"Put Portico in front of your API"</h1>
            <p class="lede">
                "If your API already sits behind nginx, Caddy, Traefik or Envoy, point the gateway's authorisation check at "
                <code>"/v1/forward-auth"</code>
                ". The gateway asks Portico about every request and lets it through only when the key may do what it asks. No code, and the same checks as "
                <A href="/docs#verify">"/v1/verify"</A> ": every answer shows in the key's usage."
            </p>

            <h2 id="how">"What Portico reads"</h2>
            <table class="table">
                <caption class="visually-hidden">
                    "What the forward-auth endpoint reads from a gateway's request"
                </caption>
                <thead>
                    <tr>
                        <th scope="col">"What"</th>
                        <th scope="col">"From"</th>
                    </tr>
                </thead>
                <tbody>
                    {SOURCES
                        .iter()
                        .map(|s| {
                            view! {
                                <tr>
                                    <th scope="row">{s.what}</th>
                                    <td>{s.from}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            <p>
                "The scope comes from the method and path through the scope catalog, decided on the canonical path exactly as "
                <code>"/v1/verify"</code> " decides it."
            </p>

            <h2 id="answers">"What Portico answers"</h2>
            <p>
                "Every answer carries its code in " <code>"Portico-Code"</code>
                " and the JSON of /v1/verify. Neither ever repeats the key."
            </p>
            <table class="table">
                <caption class="visually-hidden">"Forward-auth answers"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Status"</th>
                        <th scope="col">"When"</th>
                        <th scope="col">"Headers"</th>
                    </tr>
                </thead>
                <tbody>
                    {OUTCOMES
                        .iter()
                        .map(|o| {
                            view! {
                                <tr>
                                    <td class="mono">{o.status}</td>
                                    <td>{o.when}</td>
                                    <td>{o.headers}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            <p>
                "Copy only the four identity headers to your upstream, and drop any a client sent: the configurations below do, and they also keep the key away from your upstream."
            </p>
            <pre
                class="code"
                role="region"
                tabindex="0"
                aria-label="A forward-auth request and its answer"
            >
                <code>{TRY_IT}</code>
            </pre>

            <h2 id="nginx">"nginx"</h2>
            <p>
                "Tested with nginx 1.22 (Debian). nginx's auth_request passes only 2xx, 401 and 403 on and turns any other answer into a 500, so the "
                <code>"@portico_error"</code> " block restores 429 (with Retry-After) and 400."
            </p>
            <pre class="code" role="region" tabindex="0" aria-label="nginx configuration">
                <code>{NGINX}</code>
            </pre>

            <h2 id="caddy">"Caddy"</h2>
            <p>
                "Tested with Caddy 2.6 (Debian). Caddy hands Portico's refusals to the client as they are, and copies the identity headers on a 200."
            </p>
            <pre class="code" role="region" tabindex="0" aria-label="Caddyfile">
                <code>{CADDY}</code>
            </pre>

            <h2 id="traefik">"Traefik"</h2>
            <p>
                "Not tested by us. Traefik's forwardAuth cannot add a header of its own to its check, so have your operator trust Traefik's address instead of a token."
            </p>
            <pre class="code" role="region" tabindex="0" aria-label="Traefik configuration">
                <code>{TRAEFIK}</code>
            </pre>

            <h2 id="envoy">"Envoy"</h2>
            <p>
                "Not tested by us. Envoy's HTTP ext_authz filter sends the original method and path after the prefix."
            </p>
            <pre class="code" role="region" tabindex="0" aria-label="Envoy configuration">
                <code>{ENVOY}</code>
            </pre>

            <p>
                "Need a gateway token? Platform staff make them under "
                <A href="/staff">"Staff › Gateway tokens"</A> "."
            </p>
        </article>
    }
}
