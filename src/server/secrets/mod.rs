//! Secrets and what is made from them, in one leaf module that the hot path
//! reaches without climbing into any service: the server secret, the HMAC
//! that stores keys and gateway tokens, and random single-use tokens.

pub mod key_hash;
pub mod secret_file;
pub mod server_secret;
pub mod tokens;

pub use server_secret::ServerSecret;
