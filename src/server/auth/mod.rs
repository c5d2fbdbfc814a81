//! Who is asking: passwords, sessions and sign-in throttling.

pub mod passwords;
pub mod session;
pub mod throttle;
