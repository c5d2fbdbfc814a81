//! Security keys (WebAuthn) as a second factor, answered by a software
//! security key held by the test: a P-256 key pair (ring) that makes real
//! attestation and assertion data (CBOR and ECDSA signatures, WebAuthn §6.1
//! and §6.5) for the challenges the portal gives.

use crate::helpers::{TestApp, TestClient, GOOD_PASSWORD};
use crate::on_both_databases;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use portico::model::account::{
    RecoveryCodes, SecondFactorChoice, SecondFactorStatus, SIGN_IN_AGAIN,
};
use reqwest::StatusCode;
use ring::{
    rand::SystemRandom,
    signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING},
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The portal's public URL in these tests: WebAuthn needs a domain name.
const ORIGIN: &str = "http://localhost:8443";

/// A CBOR head (RFC 8949 §3): major type and argument.
fn cbor_head(major: u8, n: usize) -> Vec<u8> {
    let m = major << 5;
    match n {
        0..=23 => vec![m | n as u8],
        24..=255 => vec![m | 24, n as u8],
        _ => {
            let mut v = vec![m | 25];
            v.extend_from_slice(&(n as u16).to_be_bytes());
            v
        }
    }
}

fn cbor_bytes(b: &[u8]) -> Vec<u8> {
    let mut v = cbor_head(2, b.len());
    v.extend_from_slice(b);
    v
}

fn cbor_text(s: &str) -> Vec<u8> {
    let mut v = cbor_head(3, s.len());
    v.extend_from_slice(s.as_bytes());
    v
}

/// A security key that lives in the test.
struct SoftKey {
    key_pair: EcdsaKeyPair,
    credential_id: Vec<u8>,
    counter: u32,
    origin: String,
}

impl SoftKey {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key_pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
                .unwrap();
        let mut credential_id = vec![0u8; 32];
        ring::rand::SecureRandom::fill(&rng, &mut credential_id).unwrap();
        Self {
            key_pair,
            credential_id,
            counter: 0,
            origin: ORIGIN.to_owned(),
        }
    }

    fn rp_id_hash(options: &Value) -> [u8; 32] {
        let rp_id = options["publicKey"]["rp"]["id"]
            .as_str()
            .or_else(|| options["publicKey"]["rpId"].as_str())
            .expect("the options name the relying party");
        Sha256::digest(rp_id.as_bytes()).into()
    }

    fn client_data(&self, kind: &str, options: &Value) -> Vec<u8> {
        let challenge = options["publicKey"]["challenge"].as_str().unwrap();
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        }))
        .unwrap()
    }

    /// The COSE_Key of the public key (RFC 9053 §7.1.1: EC2, P-256, ES256).
    fn cose_key(&self) -> Vec<u8> {
        let public = self.key_pair.public_key().as_ref();
        let (x, y) = (&public[1..33], &public[33..65]);
        let mut v = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        v.extend(cbor_bytes(x));
        v.push(0x22);
        v.extend(cbor_bytes(y));
        v
    }

    /// Answers `navigator.credentials.create()` for `options` (JSON).
    fn register(&mut self, options: &str) -> String {
        let options: Value = serde_json::from_str(options).unwrap();
        let mut auth_data = Self::rp_id_hash(&options).to_vec();
        auth_data.push(0x41); // user present, attested credential data
        auth_data.extend_from_slice(&self.counter.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID
        auth_data.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend(self.cose_key());
        let mut attestation = vec![0xa3];
        attestation.extend(cbor_text("fmt"));
        attestation.extend(cbor_text("none"));
        attestation.extend(cbor_text("attStmt"));
        attestation.push(0xa0);
        attestation.extend(cbor_text("authData"));
        attestation.extend(cbor_bytes(&auth_data));
        let id = URL_SAFE_NO_PAD.encode(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "attestationObject": URL_SAFE_NO_PAD.encode(attestation),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(self.client_data("webauthn.create", &options)),
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }

    /// Answers `navigator.credentials.get()` for `options` (JSON), moving
    /// its signature counter on.
    fn sign(&mut self, options: &str) -> String {
        let options: Value = serde_json::from_str(options).unwrap();
        self.counter += 1;
        let mut auth_data = Self::rp_id_hash(&options).to_vec();
        auth_data.push(0x01); // user present
        auth_data.extend_from_slice(&self.counter.to_be_bytes());
        let client_data = self.client_data("webauthn.get", &options);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature = self.key_pair.sign(&SystemRandom::new(), &signed).unwrap();
        let id = URL_SAFE_NO_PAD.encode(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "authenticatorData": URL_SAFE_NO_PAD.encode(auth_data),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
                "signature": URL_SAFE_NO_PAD.encode(signature.as_ref()),
                "userHandle": null,
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }
}

/// Lets the sign-in throttle's back-off pass (each refusal above counts).
fn breathe(app: &TestApp) {
    app.clock.advance(chrono::Duration::seconds(90));
}

async fn status(client: &TestClient) -> SecondFactorStatus {
    client.call("second_factor_status", &[]).await.unwrap()
}

/// Adds `key` to the signed-in account of `client` under `name`.
async fn add_key(client: &TestClient, key: &mut SoftKey, name: &str) -> RecoveryCodes {
    let options: String = client
        .call("begin_security_key", &[("password", GOOD_PASSWORD)])
        .await
        .expect("adding a key starts");
    let answer = key.register(&options);
    client
        .call(
            "finish_security_key",
            &[("name", name), ("credential", &answer)],
        )
        .await
        .expect("the key is added")
}

/// Gives the password of `email` on `client`, leaving the second step due.
async fn password_step(client: &TestClient, email: &str) {
    client
        .call::<()>("sign_in", &[("email", email), ("password", GOOD_PASSWORD)])
        .await
        .expect("the password is right");
}

/// Signs in to `email` with `key` after the password.
async fn sign_in_with_key(
    client: &TestClient,
    email: &str,
    key: &mut SoftKey,
) -> Result<(), crate::helpers::CallError> {
    password_step(client, email).await;
    let options: String = client.call("begin_security_key_sign_in", &[]).await?;
    let answer = key.sign(&options);
    client
        .call::<()>("finish_security_key_sign_in", &[("credential", &answer)])
        .await
}

on_both_databases! {
    async fn a_security_key_is_added_with_the_password_and_asked_for_after_it(app) {
        let app = app.instance_with(|c| c.public_url = ORIGIN.to_owned()).await;
        let email = "grace@example.com";
        let client = app.sign_up(email, "Compilers").await;
        let elsewhere = app.client();
        elsewhere.sign_in(email).await;
        let st = status(&client).await;
        assert!(st.security_keys_supported);
        assert!(st.security_keys.is_empty() && !st.on());

        // A session alone cannot bind a key: the password is asked first.
        for password in ["", "not the password at all"] {
            let err = client
                .call::<String>("begin_security_key", &[("password", password)])
                .await
                .unwrap_err();
            assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(err.error.message_for("password").is_some(), "{:?}", err.error);
        }
        // No challenge was given, so no answer is taken.
        let mut key = SoftKey::new();
        let err = client
            .call::<RecoveryCodes>("finish_security_key", &[("name", "Desk key"), ("credential", "{}")])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT, "{:?}", err.error);

        // The options: this portal as the relying party, an opaque user handle.
        let options: String = client
            .call("begin_security_key", &[("password", GOOD_PASSWORD)])
            .await
            .unwrap();
        let parsed: Value = serde_json::from_str(&options).unwrap();
        assert_eq!(parsed["publicKey"]["rp"]["id"], "localhost");
        assert_eq!(parsed["publicKey"]["user"]["name"], email);
        let handle = parsed["publicKey"]["user"]["id"].as_str().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(handle).unwrap().len(), 16);
        assert_eq!(parsed["publicKey"]["excludeCredentials"], json!([]));
        assert_eq!(parsed["publicKey"]["authenticatorSelection"]["userVerification"], "discouraged");
        // A garbled answer is refused, and the challenge is spent.
        let err = client
            .call::<RecoveryCodes>("finish_security_key", &[("name", "Desk key"), ("credential", "not json")])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(err.error.message_for("credential").is_some());
        let err = client
            .call::<RecoveryCodes>("finish_security_key", &[("name", "Desk key"), ("credential", &key.register(&options))])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT, "a challenge answers once");

        // An answer made for another site is refused.
        let options: String = client
            .call("begin_security_key", &[("password", GOOD_PASSWORD)])
            .await
            .unwrap();
        key.origin = "https://portico.evil.example".to_owned();
        let err = client
            .call::<RecoveryCodes>("finish_security_key", &[("name", "Desk key"), ("credential", &key.register(&options))])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        key.origin = ORIGIN.to_owned();
        assert!(status(&client).await.security_keys.is_empty());

        // A name is needed; it is checked before the challenge is spent.
        let options: String = client
            .call("begin_security_key", &[("password", GOOD_PASSWORD)])
            .await
            .unwrap();
        let answer = key.register(&options);
        for (name, why) in [("  ", "empty"), (&"k".repeat(61)[..], "too long"), ("two\nlines", "control"), ("Yubi\u{2028}second line", "line separator"), ("Key \u{202E}gnp.exe", "direction override"), ("\u{200B}\u{200B}", "invisible")] {
            let err = client
                .call::<RecoveryCodes>("finish_security_key", &[("name", name), ("credential", &answer)])
                .await
                .unwrap_err();
            assert!(err.error.message_for("name").is_some(), "{why}: {:?}", err.error);
        }
        let codes: RecoveryCodes = client
            .call("finish_security_key", &[("name", " Desk key "), ("credential", &answer)])
            .await
            .unwrap();
        // The first second factor: recovery codes, and the password-only
        // session elsewhere ends.
        assert_eq!(codes.codes.len(), 10);
        assert_eq!(codes.sessions_ended, 1);
        let recovery = codes.codes;
        assert!(elsewhere.me().await.is_none());
        assert!(client.me().await.unwrap().second_factor);
        let st = status(&client).await;
        assert_eq!(st.security_keys.len(), 1);
        assert_eq!(st.security_keys[0].name, "Desk key");
        assert_eq!(st.security_keys[0].last_used_at, None);
        assert_eq!(st.recovery_codes_left, 10);

        // The same key again: excluded in the options, refused if answered.
        let options: String = client
            .call("begin_security_key", &[("password", GOOD_PASSWORD)])
            .await
            .unwrap();
        let parsed: Value = serde_json::from_str(&options).unwrap();
        assert_eq!(
            parsed["publicKey"]["excludeCredentials"][0]["id"],
            URL_SAFE_NO_PAD.encode(&key.credential_id)
        );
        let err = client
            .call::<RecoveryCodes>("finish_security_key", &[("name", "Again"), ("credential", &key.register(&options))])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT, "{:?}", err.error);
        // A second key keeps the codes as they are.
        let mut spare = SoftKey::new();
        let codes = add_key(&client, &mut spare, "Spare key").await;
        assert!(codes.codes.is_empty() && codes.sessions_ended == 0);
        assert_eq!(status(&client).await.recovery_codes_left, 10);

        // Signing in: the password, then the key.
        let browser = app.client();
        password_step(&browser, email).await;
        assert!(browser.me().await.is_none(), "not signed in after the password");
        let choice: Option<SecondFactorChoice> = browser.call("sign_in_code_due", &[]).await.unwrap();
        assert_eq!(choice, Some(SecondFactorChoice { totp: false, security_key: true }));
        let options: String = browser.call("begin_security_key_sign_in", &[]).await.unwrap();
        let parsed: Value = serde_json::from_str(&options).unwrap();
        assert_eq!(parsed["publicKey"]["allowCredentials"].as_array().unwrap().len(), 2);
        let answer = key.sign(&options);
        browser
            .call::<()>("finish_security_key_sign_in", &[("credential", &answer)])
            .await
            .unwrap();
        assert_eq!(browser.me().await.unwrap().email, email);
        let st = status(&client).await;
        assert!(st.security_keys.iter().any(|k| k.name == "Desk key" && k.last_used_at.is_some()));

        // The same answer again, on a new sign-in: its challenge is spent.
        let replay = app.client();
        password_step(&replay, email).await;
        let _: String = replay.call("begin_security_key_sign_in", &[]).await.unwrap();
        let err = replay
            .call::<()>("finish_security_key_sign_in", &[("credential", &answer)])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(replay.me().await.is_none());

        // A cloned key (its counter behind the one seen) is refused.
        breathe(&app);
        let cloned = app.client();
        key.counter = 0;
        let err = sign_in_with_key(&cloned, email, &mut key).await.unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(cloned.me().await.is_none());
        key.counter = 10;

        // An app code is wrong for an account without an app; a recovery
        // code stands in for the key, once.
        let lost = app.client();
        password_step(&lost, email).await;
        breathe(&app);
        let err = lost.call::<()>("sign_in_code", &[("code", "123456")]).await.unwrap_err();
        assert!(err.error.message_for("code").is_some(), "{:?}", err.error);
        breathe(&app);
        lost.call::<()>("sign_in_code", &[("code", &recovery[0])]).await.unwrap();
        assert!(lost.me().await.is_some());
        assert_eq!(status(&client).await.recovery_codes_left, 9);

        // A key of another account does not sign in to this one.
        let other = app.sign_up("other@example.com", "Other Co").await;
        let mut theirs = SoftKey::new();
        add_key(&other, &mut theirs, "Their key").await;
        let intruder = app.client();
        breathe(&app);
        let err = sign_in_with_key(&intruder, email, &mut theirs).await.unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(intruder.me().await.is_none());

        // Removing: someone else's key is not found; the password is needed.
        let theirs_id = status(&other).await.security_keys[0].id.to_string();
        let err = client
            .call::<()>("remove_security_key", &[("id", &theirs_id), ("password", GOOD_PASSWORD)])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
        assert_eq!(status(&other).await.security_keys.len(), 1);
        let ids: Vec<String> = status(&client).await.security_keys.iter().map(|k| k.id.to_string()).collect();
        breathe(&app);
        let err = client
            .call::<()>("remove_security_key", &[("id", &ids[0]), ("password", "wrong password here")])
            .await
            .unwrap_err();
        assert!(err.error.message_for("password").is_some());
        breathe(&app);
        for id in &ids {
            client
                .call::<()>("remove_security_key", &[("id", id), ("password", GOOD_PASSWORD)])
                .await
                .unwrap();
        }
        // The last one gone: two-factor is off, and the codes went with it.
        let st = status(&client).await;
        assert!(!st.on());
        assert_eq!(st.recovery_codes_left, 0);
        assert!(!client.me().await.unwrap().second_factor);
        let plain = app.client();
        password_step(&plain, email).await;
        assert!(plain.me().await.is_some(), "the password alone signs in again");
    }

    async fn the_last_security_key_stays_while_the_organisation_requires_two_factors(app) {
        let app = app.instance_with(|c| c.public_url = ORIGIN.to_owned()).await;
        let client = app.sign_up("lin@example.com", "Strict Keys").await;
        let mut key = SoftKey::new();
        add_key(&client, &mut key, "Only key").await;
        let org_id = client.me().await.unwrap().active_org_id.unwrap().to_string();
        client
            .call::<Vec<String>>("set_second_factor_requirement", &[("org_id", &org_id), ("required", "true")])
            .await
            .expect("an admin with a key may require two factors");
        let id = status(&client).await.security_keys[0].id.to_string();
        let err = client
            .call::<()>("remove_security_key", &[("id", &id), ("password", GOOD_PASSWORD)])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        assert!(err.error.to_string().contains("Strict Keys requires two-factor"), "{}", err.error);
        assert_eq!(status(&client).await.security_keys.len(), 1);
        let err = client
            .call::<()>("turn_off_second_factor", &[("password", GOOD_PASSWORD)])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
    }

    async fn security_keys_are_refused_where_webauthn_cannot_work(app) {
        // Served under an IP address: browsers refuse WebAuthn there.
        let client = app.sign_up("ip@example.com", "Bare IP").await;
        assert!(!status(&client).await.security_keys_supported);
        let err = client
            .call::<String>("begin_security_key", &[("password", GOOD_PASSWORD)])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        assert!(err.error.to_string().contains("IP address"), "{}", err.error);
        // No sign-in waits on a fresh browser.
        let fresh = app.client();
        for call in ["begin_security_key_sign_in", "finish_security_key_sign_in"] {
            let err = fresh
                .call::<Value>(call, &[("credential", "{}")])
                .await
                .unwrap_err();
            assert_eq!(err.status, StatusCode::CONFLICT);
            assert_eq!(err.error.to_string(), SIGN_IN_AGAIN);
        }
    }
}
