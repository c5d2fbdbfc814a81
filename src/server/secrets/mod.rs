//! Secrets and what is made from them, in one leaf module that the hot path
//! reaches without climbing into any service: the server secret, the HMAC
//! that stores keys and gateway tokens, random single-use tokens, and the
//! sealing of secrets the server must read back.

pub mod bearer_token;
pub mod key_hash;
pub mod sealed;
pub mod secret_file;
pub mod server_secret;
pub mod tokens;

pub use server_secret::ServerSecret;
