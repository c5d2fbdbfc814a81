//! Who calls a key: its clients by address, each with the scopes its
//! accepted requests used. The review proposes a key of its own for each
//! client of a shared key, and the create form fills itself in from it.

use crate::{
    error::AppError,
    model::review::ClientProposal,
    server::db::{usage, Conn},
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Days of traffic that say who a key's clients are (the raw events kept
/// by default, `PORTICO_USAGE_RETENTION_DAYS`).
pub const WINDOW_DAYS: i64 = 30;

/// The clients of a key holding `held` scopes since `since` (from
/// `client_addr` only when given), busiest first: each with its accepted
/// and refused requests and the scopes its accepted requests used, split
/// into those the key still holds (what a key of its own needs) and those
/// it no longer holds.
pub async fn clients_of(
    conn: Conn<'_>,
    key_row_id: i64,
    held: &[String],
    since: DateTime<Utc>,
    client_addr: Option<&str>,
) -> Result<Vec<ClientProposal>, AppError> {
    let rows = usage::clients_for_key(conn, key_row_id, since, client_addr).await?;
    let mut clients: BTreeMap<String, (i64, i64, BTreeSet<String>)> = Default::default();
    for row in rows {
        let client = clients.entry(row.client_addr).or_default();
        client.0 += row.accepted;
        client.1 += row.refused;
        if row.accepted > 0 {
            client.2.extend(
                row.scope
                    .iter()
                    .flat_map(|s| s.split_whitespace())
                    .map(str::to_owned),
            );
        }
    }
    let mut clients: Vec<ClientProposal> = clients
        .into_iter()
        .map(|(client_addr, (accepted, refused, used))| {
            let (scopes, no_longer_held) = used.into_iter().partition(|s| held.contains(s));
            ClientProposal {
                client_addr,
                accepted,
                refused,
                scopes,
                no_longer_held,
            }
        })
        .collect();
    clients.sort_by(|a, b| {
        (b.accepted, b.refused)
            .cmp(&(a.accepted, a.refused))
            .then_with(|| a.client_addr.cmp(&b.client_addr))
    });
    Ok(clients)
}
