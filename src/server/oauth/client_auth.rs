//! How a client authenticates at the token endpoint: `client_secret_basic`
//! (HTTP Basic, RFC 6749 §2.3.1, RFC 7617) or `client_secret_post` (the
//! form's `client_id` and `client_secret`), never both (RFC 6749 §2.3).
//! The client id is the key's public id, the client secret the whole key.

use super::token_endpoint::oauth_error;
use crate::domain::key_format::{ApiKey, KeyPrefix};
use axum::{
    http::{HeaderValue, StatusCode},
    response::Response,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use percent_encoding::percent_decode_str;

/// The client's id and secret, as presented.
pub struct ClientCredentials {
    /// The client id: the key's public id.
    pub client_id: String,
    /// The client secret: the API key.
    pub secret: String,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Why the client could not be authenticated before its key was checked.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientAuthRefusal {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
}

impl ClientAuthRefusal {
    const fn new(status: StatusCode, error: &'static str, description: &'static str) -> Self {
        Self {
            status,
            error,
            description,
        }
    }

    /// The RFC 6749 §5.2 answer.
    pub fn into_response(self) -> Response {
        oauth_error(self.status, self.error, self.description, None)
    }
}

const NO_CREDENTIALS: ClientAuthRefusal = ClientAuthRefusal::new(
    StatusCode::UNAUTHORIZED,
    "invalid_client",
    "Authenticate the client: HTTP Basic with the key id as user name and the API key as password, or client_id and client_secret in the form.",
);

const UNREADABLE_BASIC: ClientAuthRefusal = ClientAuthRefusal::new(
    StatusCode::UNAUTHORIZED,
    "invalid_client",
    "The Authorization header could not be read: send Basic and base64 of key-id:key.",
);

const TWO_METHODS: ClientAuthRefusal = ClientAuthRefusal::new(
    StatusCode::BAD_REQUEST,
    "invalid_request",
    "Authenticate one way only: HTTP Basic or client_secret in the form, not both (RFC 6749 section 2.3).",
);

const ID_MISMATCH: ClientAuthRefusal = ClientAuthRefusal::new(
    StatusCode::UNAUTHORIZED,
    "invalid_client",
    "The client could not be authenticated: the client id must be the key's id (the part after the prefix, before the secret).",
);

impl ClientCredentials {
    /// Reads the credentials from the `Authorization` header or the form.
    pub fn from_request(
        authorization: Option<&HeaderValue>,
        form_client_id: Option<String>,
        form_client_secret: Option<String>,
    ) -> Result<Self, ClientAuthRefusal> {
        match (authorization, form_client_secret) {
            (Some(_), Some(_)) => Err(TWO_METHODS),
            (Some(value), None) => {
                let basic = basic_credentials(value).ok_or(UNREADABLE_BASIC)?;
                // A form client_id beside Basic must name the same client.
                match form_client_id {
                    Some(id) if id != basic.client_id => Err(ID_MISMATCH),
                    _ => Ok(basic),
                }
            }
            (None, Some(secret)) => Ok(Self {
                client_id: form_client_id.ok_or(NO_CREDENTIALS)?,
                secret,
            }),
            (None, None) => Err(NO_CREDENTIALS),
        }
    }

    /// Checks that the client id names the key presented as the secret. A
    /// secret that is no key at all is left to verification (which records
    /// it as `malformed`).
    pub fn check_client_id(&self, key_prefix: &KeyPrefix) -> Result<(), ClientAuthRefusal> {
        match ApiKey::parse(self.secret.trim(), key_prefix) {
            Ok(key) if key.key_id() != self.client_id.trim() => Err(ID_MISMATCH),
            _ => Ok(()),
        }
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(value: &HeaderValue) -> Option<ClientCredentials> {
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let form_decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned())
    };
    Some(ClientCredentials {
        client_id: form_decode(id)?,
        secret: form_decode(secret)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(text: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(text))).unwrap()
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let c =
            ClientCredentials::from_request(Some(&basic("ab%3Ac:s%2Bt+u")), None, None).unwrap();
        assert_eq!(c.client_id, "ab:c");
        assert_eq!(c.secret, "s+t u");
    }

    #[test]
    fn one_method_only_and_something_to_authenticate_with() {
        let h = basic("id:secret");
        assert_eq!(
            ClientCredentials::from_request(Some(&h), None, Some("secret".into())).unwrap_err(),
            TWO_METHODS
        );
        assert_eq!(
            ClientCredentials::from_request(None, Some("id".into()), None).unwrap_err(),
            NO_CREDENTIALS
        );
        assert_eq!(
            ClientCredentials::from_request(None, None, Some("secret".into())).unwrap_err(),
            NO_CREDENTIALS
        );
        assert_eq!(
            ClientCredentials::from_request(Some(&h), Some("other".into()), None).unwrap_err(),
            ID_MISMATCH
        );
        let bearer = HeaderValue::from_static("Bearer abc");
        assert_eq!(
            ClientCredentials::from_request(Some(&bearer), None, None).unwrap_err(),
            UNREADABLE_BASIC
        );
        let garbage = HeaderValue::from_static("Basic !!!");
        assert_eq!(
            ClientCredentials::from_request(Some(&garbage), None, None).unwrap_err(),
            UNREADABLE_BASIC
        );
        let c = ClientCredentials::from_request(None, Some("id".into()), Some("s".into())).unwrap();
        assert_eq!((c.client_id.as_str(), c.secret.as_str()), ("id", "s"));
    }
}
