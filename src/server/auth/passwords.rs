//! Password hashing (argon2id, OWASP parameters) and the strength check.
//!
//! Hashing takes about 50 ms of CPU and 19 MiB, so it runs on the blocking
//! thread pool, never on the async runtime, and at most one hash per CPU
//! runs at a time ([`HASHING`]): a burst of sign-ins queues instead of
//! taking every core and gigabytes of memory. Signing in with an unknown email
//! still verifies against a dummy hash, so the answer takes as long as for a
//! known email with a wrong password.

use crate::{domain::Password, error::AppError, server::errors::internal};
use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use std::sync::LazyLock;
use unicode_normalization::UnicodeNormalization;

/// OWASP's argon2id parameters: 19 MiB, 2 iterations, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Unicode NFKC, so that the same password typed on different keyboards
/// (composed or decomposed accents) hashes the same.
fn normalise(password: &Password) -> String {
    password.expose().nfkc().collect()
}

/// A hash to verify against when the account does not exist.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::encode_b64(&crate::server::secrets::tokens::random_bytes::<16>())
        .expect("16 bytes make a valid salt");
    argon2()
        .hash_password(b"portico dummy password for timing", &salt)
        .expect("hashing a constant cannot fail")
        .to_string()
});

/// Permits to run argon2: one per CPU the process may use.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::sync::Semaphore::new(cpus)
});

/// Runs one argon2 job on the blocking pool once a [`HASHING`] permit is free.
async fn run_argon2<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let _permit = HASHING.acquire().await.map_err(internal)?;
    tokio::task::spawn_blocking(job).await.map_err(internal)?
}

/// Hashes a password for storage, as a PHC string.
pub async fn hash(password: Password) -> Result<String, AppError> {
    run_argon2(move || {
        let salt = SaltString::encode_b64(&crate::server::secrets::tokens::random_bytes::<16>())
            .map_err(internal)?;
        argon2()
            .hash_password(normalise(&password).as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(internal)
    })
    .await
}

/// Whether `password` matches the stored hash. With no stored hash (unknown
/// account) it verifies against a dummy hash and answers `false`.
pub async fn verify(password: Password, stored: Option<String>) -> Result<bool, AppError> {
    run_argon2(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let parsed = PasswordHash::new(&stored).map_err(internal)?;
        let matches = argon2()
            .verify_password(normalise(&password).as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await
}

/// Characters of a password that the estimator looks at. Its work grows
/// faster than linearly with length, and a long password is at least as strong
/// as its first 100 characters.
const ESTIMATE_CHARS: usize = 100;

/// Why a password is easily guessed, as a sentence, or `None` if it is fine.
/// `context` holds words an attacker would try first (the email, the
/// organisation's name).
pub fn strength_problem(password: &Password, context: &[&str]) -> Option<String> {
    let head: String = password.expose().chars().take(ESTIMATE_CHARS).collect();
    let mut words: Vec<String> = Vec::new();
    for item in context {
        words.push(item.to_lowercase());
        words.extend(
            item.split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() >= 3)
                .map(str::to_lowercase),
        );
    }
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(&head, &words);
    if estimate.score() >= zxcvbn::Score::Three {
        return None;
    }
    let mut sentence = String::from("This password is too easy to guess");
    match estimate.feedback().and_then(|f| f.warning()) {
        Some(warning) => {
            sentence.push_str(": ");
            sentence.push_str(warning.to_string().trim_end_matches('.'));
            sentence.push('.');
        }
        None => sentence.push('.'),
    }
    if let Some(tip) = estimate
        .feedback()
        .and_then(|f| f.suggestions().first().map(ToString::to_string))
    {
        sentence.push(' ');
        sentence.push_str(&tip);
    } else {
        sentence.push_str(" Try a few unrelated words.");
    }
    Some(sentence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::unchecked(s.to_owned())
    }

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_and_no_other() {
        let stored = hash(pw("paper lantern orbit velvet")).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify(pw("paper lantern orbit velvet"), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(!verify(pw("paper lantern orbit velvef"), Some(stored))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(!verify(pw("portico dummy password for timing"), None)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn composed_and_decomposed_accents_are_the_same_password() {
        let stored = hash(pw("caf\u{e9} au lait, s'il vous pla\u{ee}t"))
            .await
            .unwrap();
        assert!(verify(
            pw("cafe\u{301} au lait, s'il vous pla\u{ee}t"),
            Some(stored)
        )
        .await
        .unwrap());
    }

    #[test]
    fn common_and_personal_passwords_are_refused_with_a_reason() {
        let problem = strength_problem(&pw("passwordpassword"), &[]).unwrap();
        assert!(
            problem.starts_with("This password is too easy to guess"),
            "{problem}"
        );
        assert!(strength_problem(&pw("111111111111111"), &[]).is_some());
        assert!(strength_problem(
            &pw("ada.lovelace@example.com"),
            &["ada.lovelace@example.com"]
        )
        .is_some());
        assert!(strength_problem(&pw("analytical engines"), &["Analytical Engines"]).is_some());
    }

    #[test]
    fn long_unpredictable_passwords_pass() {
        assert_eq!(
            strength_problem(&pw("paper lantern orbit velvet"), &[]),
            None
        );
        let very_long = format!("paper lantern orbit velvet {}", "x".repeat(1000));
        assert_eq!(strength_problem(&pw(&very_long), &[]), None);
    }
}
