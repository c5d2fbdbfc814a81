//! `POST /v1/leaks/github`: reports from GitHub's secret scanning partner
//! program (GitHub Docs, "Secret scanning partner program").
//!
//! GitHub sends a JSON list of matches (`[{token, type, url, source}]`)
//! signed with ECDSA P-256 over the raw body: the header
//! `Github-Public-Key-Identifier` names one of GitHub's public keys, and
//! `Github-Public-Key-Signature` carries the signature (ASN.1 DER, base64).
//! The keys are read from the file `PORTICO_SECRET_SCANNING_KEYS` (the JSON
//! GitHub publishes at `/meta/public_keys/secret_scanning`). The answer says
//! per match whether it was a live key (`true_positive`) or not
//! (`false_positive`), naming each by the SHA-256 of the token (never the
//! token). A missing, unknown or wrong signature is 401 and a malformed
//! body 400, and nothing changes.

use super::LeakReport;
use crate::server::state::AppState;
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use p256::{
    ecdsa::{signature::Verifier, Signature, VerifyingKey},
    pkcs8::DecodePublicKey,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Who the reports come from, as the audit trail and alerts name them.
pub const REPORTER: &str = "GitHub secret scanning";

/// The most matches one report may carry.
pub const MAX_MATCHES: usize = 1000;

/// The file of GitHub's public keys.
#[derive(Deserialize)]
struct PublicKeys {
    public_keys: Vec<PublicKeyEntry>,
}

#[derive(Deserialize)]
struct PublicKeyEntry {
    key_identifier: String,
    key: String,
}

/// One match in a report.
#[derive(Deserialize)]
struct Match {
    token: String,
    #[serde(rename = "type", default)]
    token_type: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

/// The answer for one match.
#[derive(Serialize)]
struct Verdict {
    token_hash: String,
    token_type: String,
    label: &'static str,
}

fn refusal(status: StatusCode, error: &str, message: &str) -> Response {
    (status, Json(json!({ "error": error, "message": message }))).into_response()
}

/// The public key named `identifier` in the file at `path`.
fn public_key(path: &std::path::Path, identifier: &str) -> Result<Option<VerifyingKey>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let keys: PublicKeys =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    keys.public_keys
        .iter()
        .find(|k| k.key_identifier == identifier)
        .map(|k| {
            VerifyingKey::from_public_key_pem(&k.key)
                .map_err(|e| format!("{}: key {identifier}: {e}", path.display()))
        })
        .transpose()
}

/// The handler.
pub async fn report(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(path) = state.config.secret_scanning_keys.clone() else {
        return refusal(
            StatusCode::NOT_FOUND,
            "not_configured",
            "This portal takes no secret-scanning reports (PORTICO_SECRET_SCANNING_KEYS is unset).",
        );
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let (Some(identifier), Some(signature)) = (
        header("github-public-key-identifier"),
        header("github-public-key-signature"),
    ) else {
        return refusal(
            StatusCode::UNAUTHORIZED,
            "missing_signature",
            "Github-Public-Key-Identifier and Github-Public-Key-Signature are required.",
        );
    };
    let key = match public_key(&path, identifier) {
        Ok(Some(key)) => key,
        Ok(None) => {
            return refusal(
                StatusCode::UNAUTHORIZED,
                "unknown_key_identifier",
                "The public key identifier is not one of the configured keys.",
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "the secret-scanning keys cannot be read");
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "keys_unreadable",
                "The portal cannot read its secret-scanning keys; try again later.",
            );
        }
    };
    let valid = STANDARD
        .decode(signature)
        .ok()
        .and_then(|der| Signature::from_der(&der).ok())
        .is_some_and(|sig| key.verify(&body, &sig).is_ok());
    if !valid {
        tracing::warn!(identifier, "a secret-scanning report with a bad signature");
        return refusal(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "The signature does not match the body for that key.",
        );
    }
    let matches: Vec<Match> = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(_) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "malformed",
                "The body must be a JSON list of {token, type, url, source}.",
            )
        }
    };
    if matches.len() > MAX_MATCHES {
        return refusal(
            StatusCode::BAD_REQUEST,
            "too_many",
            &format!("Send at most {MAX_MATCHES} matches at a time."),
        );
    }
    let mut verdicts = Vec::with_capacity(matches.len());
    for m in matches {
        let report = LeakReport {
            token: m.token,
            url: m.url,
            source: m.source,
        };
        let live = match super::handle(&state, REPORTER, &report).await {
            Ok(found) => found.is_some(),
            Err(e) => return crate::server::verify::api::unavailable(&e),
        };
        verdicts.push(Verdict {
            token_hash: hex::encode(Sha256::digest(report.token.as_bytes())),
            token_type: m.token_type,
            label: if live {
                "true_positive"
            } else {
                "false_positive"
            },
        });
    }
    Json(verdicts).into_response()
}
