//! The OpenAPI 3 document for `/v1`, served at `/v1/openapi.json`.

use crate::domain::verify::VerifyCode;
use serde_json::{json, Value};

/// The document.
pub fn document() -> Value {
    let codes: Vec<&str> = VerifyCode::ALL.iter().map(|c| c.as_str()).collect();
    let code_help: String = VerifyCode::ALL
        .iter()
        .map(|c| format!("* `{}`: {}", c.as_str(), c.describe()))
        .collect::<Vec<_>>()
        .join("\n");
    let error = json!({ "$ref": "#/components/schemas/Error" });
    let error_response = |description: &str| json!({ "description": description, "content": { "application/json": { "schema": error } } });
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Portico verification API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The platform's gateway asks Portico, for every request, whether an API key may do what the request asks. Every verification is recorded as usage."
        },
        "servers": [{ "url": "/" }],
        "components": {
            "securitySchemes": {
                "gateway": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A gateway token (gwt_…), made by platform staff in the portal or with `portico gateway-token create NAME`."
                }
            },
            "schemas": {
                "VerifyRequest": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["key"],
                    "description": "Name what the request needs with `scope`, with `method` and `path` together, or with both (the key must then hold both scopes). A request that names neither is checked without a scope. Anything partial (a method without a path, an empty scope) and any unknown field is a 400, never a check without a scope.",
                    "properties": {
                        "key": { "type": "string", "description": "The API key the client presented, or an access token minted from one at /oauth/token (a JWT, RFC 9068): checked offline, then as its key, with the token's scopes as the most it may do." },
                        "scope": { "type": "string", "nullable": true, "minLength": 1, "maxLength": 100, "pattern": "^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$", "description": "The scope the request needs, e.g. records:read." },
                        "method": { "type": "string", "nullable": true, "minLength": 1, "example": "GET", "description": "The request's method; HEAD is decided as GET (RFC 9110 §9.3.2). Send it with path." },
                        "path": { "type": "string", "nullable": true, "minLength": 1, "example": "/v1/records/42", "description": "The request's path as the client sent it, starting with '/'. Scopes are decided on its canonical form (RFC 3986 §6.2.2: unreserved escapes decoded, dot-segments resolved, duplicate slashes merged, query and fragment dropped; literal segments match whatever an upstream could read as them: without case, trailing dots, format suffixes or a Windows stream name, after Unicode compatibility folding without combining marks). A path an upstream could read as another endpoint is a 400: an encoded '/', '\\', '%', ';', '?' or '#' (%2F, %5C, %25, %3B, %3F, %23), an encoded dot-segment, a raw '\\', ';' or '#', a bad escape or escapes that are not UTF-8, whitespace or control characters (raw or encoded, Unicode's included). The 2,048-byte limit counts the path, not the query. Send it with method." },
                        "client_ip": { "type": "string", "nullable": true, "anyOf": [{ "format": "ipv4" }, { "format": "ipv6" }], "description": "The client's IPv4 or IPv6 address, checked against the key's allowlist (an IPv4-mapped IPv6 address counts as its IPv4 address). Anything else is a 400.", "example": "203.0.113.7" },
                        "environment": { "type": "string", "nullable": true, "enum": ["sandbox", "production", null], "description": "The environment the gateway serves; a key of the other environment is refused with env_mismatch." }
                    }
                },
                "VerifyResponse": {
                    "type": "object",
                    "required": ["valid", "code", "key_id", "org_id", "environment", "scopes", "expires_at", "scope", "retry_after"],
                    "properties": {
                        "valid": { "type": "boolean" },
                        "code": { "type": "string", "enum": codes, "description": code_help },
                        "key_id": { "type": "string", "nullable": true, "description": "The key's public id, once identified by id and secret." },
                        "org_id": { "type": "integer", "format": "int64", "nullable": true },
                        "environment": { "type": "string", "nullable": true, "enum": ["sandbox", "production", null] },
                        "scopes": { "type": "array", "items": { "type": "string" } },
                        "expires_at": { "type": "string", "format": "date-time", "nullable": true },
                        "scope": { "type": "string", "nullable": true, "description": "The scope checked." },
                        "retry_after": { "type": "integer", "format": "int64", "minimum": 0, "nullable": true, "description": "With rate_limited: whole seconds to wait, rounded up, so that a request after that long is allowed. With quota_exceeded: whole seconds until the month ends (UTC), when the quota starts again." }
                    }
                },
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": { "type": "string", "enum": ["bad_request", "unauthorized", "payload_too_large", "unavailable"] },
                        "message": { "type": "string" }
                    }
                }
            }
        },
        "paths": {
            "/v1/verify": {
                "post": {
                    "operationId": "verify",
                    "summary": "May this key do what this request asks?",
                    "description": "Answers 200 with valid and a code for every decision, allowed or denied. Well-formed keys that fail the checksum are refused without a database lookup.",
                    "security": [{ "gateway": [] }],
                    "requestBody": {
                        "required": true,
                        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/VerifyRequest" } } }
                    },
                    "responses": {
                        "200": {
                            "description": "The decision.",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/VerifyResponse" } } }
                        },
                        "400": error_response("The body is not a JSON object with a key string, has an unknown field, names part of what it asks (a method without a path, an empty scope), or a field is malformed, including a path that cannot be canonicalised safely."),
                        "401": error_response("No live gateway token."),
                        "413": error_response("The body is larger than 16 KiB."),
                        "503": error_response("The database cannot be reached.")
                    }
                }
            },
            "/v1/forward-auth": {
                "get": {
                    "operationId": "forwardAuth",
                    "summary": "May the request a gateway holds go through? (nginx auth_request, Caddy forward_auth, Traefik ForwardAuth, Envoy ext_authz)",
                    "description": "Any method is accepted; Envoy sends the original method with the original path after /v1/forward-auth. The gateway authenticates with its token in Portico-Gateway-Token or Proxy-Authorization (or by an address the operator trusts); the key comes from Authorization: Bearer or X-API-Key; the original request from X-Forwarded-Method + X-Forwarded-Uri, X-Original-Method + X-Original-URI, or the path suffix, which must agree when several are present; the client address from the last X-Forwarded-For entry, else X-Real-IP. Every answer carries Portico-Code and the body of /v1/verify.",
                    "security": [{ "gateway": [] }],
                    "parameters": [
                        { "name": "Portico-Gateway-Token", "in": "header", "required": false, "schema": { "type": "string" }, "description": "The gateway token (gwt_…)." },
                        { "name": "X-Forwarded-Method", "in": "header", "required": false, "schema": { "type": "string" } },
                        { "name": "X-Forwarded-Uri", "in": "header", "required": false, "schema": { "type": "string" } },
                        { "name": "X-Original-Method", "in": "header", "required": false, "schema": { "type": "string" } },
                        { "name": "X-Original-URI", "in": "header", "required": false, "schema": { "type": "string" } },
                        { "name": "X-Forwarded-For", "in": "header", "required": false, "schema": { "type": "string" }, "description": "The last entry is the client's address." },
                        { "name": "Portico-Upstream-Environment", "in": "header", "required": false, "schema": { "type": "string", "enum": ["sandbox", "production"] } }
                    ],
                    "responses": {
                        "200": {
                            "description": "The key may: copy Portico-Key-Id, Portico-Org-Id, Portico-Environment and Portico-Scopes (space-separated) to the upstream.",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/VerifyResponse" } } }
                        },
                        "400": error_response("The original request is missing, half given, named differently by two conventions, or its path could be read as another endpoint."),
                        "401": {
                            "description": "No key identified (missing, malformed, unknown, wrong secret), or the caller is not a gateway (Portico-Code: gateway_unauthorized).",
                            "content": { "application/json": { "schema": { "oneOf": [{ "$ref": "#/components/schemas/VerifyResponse" }, error] } } }
                        },
                        "403": {
                            "description": "An identified key that may not do this: scope_denied, ip_denied, env_mismatch, revoked, suspended, pending_approval or expired.",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/VerifyResponse" } } }
                        },
                        "429": {
                            "description": "rate_limited or quota_exceeded; Retry-After gives whole seconds.",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/VerifyResponse" } } }
                        },
                        "503": error_response("The database cannot be reached.")
                    }
                }
            },
            "/v1/ping": {
                "get": {
                    "operationId": "ping",
                    "summary": "Liveness, for gateways' health checks.",
                    "responses": {
                        "200": {
                            "description": "Portico is up.",
                            "content": { "application/json": { "schema": {
                                "type": "object", "required": ["ok"], "properties": { "ok": { "type": "boolean" } }
                            } } }
                        }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_code() {
        let doc = document();
        let codes = &doc["components"]["schemas"]["VerifyResponse"]["properties"]["code"]["enum"];
        assert_eq!(codes.as_array().unwrap().len(), VerifyCode::ALL.len());
        assert_eq!(doc["openapi"], "3.0.3");
        assert!(doc["paths"]["/v1/verify"]["post"]["responses"]["401"].is_object());
        assert!(doc["paths"]["/v1/forward-auth"]["get"]["responses"]["429"].is_object());
        assert_eq!(
            doc["components"]["schemas"]["VerifyRequest"]["additionalProperties"],
            false
        );
    }
}
