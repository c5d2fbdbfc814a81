//! `change_log` (SQLite only): what the database's triggers record of every
//! change to a key or gateway token that verification reads. Postgres
//! announces the same changes with `NOTIFY` instead.

use super::Conn;

/// One change: `(seq, kind, ref)`, kind `key`, `gateway` or `signing`, ref the
/// public id (a signing key's `kid`).
pub type Change = (i64, String, String);

/// The newest sequence number, or 0 for an empty log (and on Postgres).
pub async fn latest(conn: Conn<'_>) -> sqlx::Result<i64> {
    match conn {
        Conn::Sqlite(c) => {
            sqlx::query_scalar("select coalesce(max(seq), 0) from change_log")
                .fetch_one(c)
                .await
        }
        Conn::Postgres(_) => Ok(0),
    }
}

/// Up to `limit` changes after `seq`, oldest first.
pub async fn since(conn: Conn<'_>, seq: i64, limit: i64) -> sqlx::Result<Vec<Change>> {
    match conn {
        Conn::Sqlite(c) => {
            sqlx::query_as(
                "select seq, kind, ref from change_log where seq > $1 order by seq limit $2",
            )
            .bind(seq)
            .bind(limit)
            .fetch_all(c)
            .await
        }
        Conn::Postgres(_) => Ok(Vec::new()),
    }
}

/// Deletes the changes up to and including `seq`.
pub async fn trim(conn: Conn<'_>, seq: i64) -> sqlx::Result<u64> {
    match conn {
        Conn::Sqlite(c) => sqlx::query("delete from change_log where seq <= $1")
            .bind(seq)
            .execute(c)
            .await
            .map(|r| r.rows_affected()),
        Conn::Postgres(_) => Ok(0),
    }
}
