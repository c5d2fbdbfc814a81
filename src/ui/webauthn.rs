//! The browser's half of WebAuthn: `navigator.credentials.create()` and
//! `.get()` from the relying party's options as JSON to the browser's answer
//! as JSON, through the Level 3 JSON methods
//! (`PublicKeyCredential.parseCreationOptionsFromJSON`, `.toJSON()`;
//! WebAuthn §5.1.8–§5.1.10). On the server (no browser) they refuse.

/// Why a ceremony failed in the browser, as a sentence for the page.
fn explain(name: &str, registering: bool) -> String {
    match name {
        "unsupported" => "This browser cannot use security keys. Use a code from an authenticator app, or another browser.".to_owned(),
        "NotAllowedError" | "AbortError" => "The security key did not answer: it was cancelled, or took too long. Try again, and touch the key when it blinks.".to_owned(),
        "InvalidStateError" if registering => "This security key is registered to your account already.".to_owned(),
        "SecurityError" => "The browser refused to use a security key for this address.".to_owned(),
        other => format!("The browser could not use the security key ({other}). Try again."),
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(inline_js = r#"
function supported() {
  return typeof PublicKeyCredential !== "undefined"
    && typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function";
}
export async function portico_create_credential(options) {
  if (!supported()) throw "unsupported";
  try {
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(JSON.parse(options).publicKey);
    const credential = await navigator.credentials.create({ publicKey });
    return JSON.stringify(credential.toJSON());
  } catch (e) {
    throw (e && e.name) || "Error";
  }
}
export async function portico_get_credential(options) {
  if (!supported()) throw "unsupported";
  try {
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(JSON.parse(options).publicKey);
    const credential = await navigator.credentials.get({ publicKey });
    return JSON.stringify(credential.toJSON());
  } catch (e) {
    throw (e && e.name) || "Error";
  }
}
"#)]
    extern "C" {
        #[wasm_bindgen(catch)]
        pub async fn portico_create_credential(options: String) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(catch)]
        pub async fn portico_get_credential(options: String) -> Result<JsValue, JsValue>;
    }
}

/// Asks the browser to create a credential with `options` (the relying
/// party's `CreationChallengeResponse` as JSON). Returns the answer as JSON,
/// or the sentence to show.
pub async fn create_credential(options: String) -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    {
        match browser::portico_create_credential(options).await {
            Ok(answer) => answer.as_string().ok_or_else(|| explain("Error", true)),
            Err(name) => Err(explain(&name.as_string().unwrap_or_default(), true)),
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = options;
        Err(explain("unsupported", true))
    }
}

/// Asks the browser to sign the challenge in `options` (the relying party's
/// `RequestChallengeResponse` as JSON) with a registered credential.
/// Returns the answer as JSON, or the sentence to show.
pub async fn get_credential(options: String) -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    {
        match browser::portico_get_credential(options).await {
            Ok(answer) => answer.as_string().ok_or_else(|| explain("Error", false)),
            Err(name) => Err(explain(&name.as_string().unwrap_or_default(), false)),
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = options;
        Err(explain("unsupported", false))
    }
}
