//! Integration tests: a real server over HTTP, on SQLite and on Postgres.

mod helpers;

mod access_tokens;
mod accounts;
mod alerts;
mod audit_trail;
mod cli;
mod compression;
mod db_copy;
mod email_verification;
mod forward_auth;
mod gateways;
mod governance;
mod keys;
mod leaks;
mod ops;
mod organisations;
mod password_reset;
mod quotas;
mod second_factor;
mod security;
mod security_keys;
mod setup;
mod shared_limits;
mod usage_filters;
mod verify;
mod verify_edges;
