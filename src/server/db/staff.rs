//! Queries on `staff`: the platform's own people.

use super::Conn;
use crate::{domain::StaffRole, on_conn};
use chrono::{DateTime, Utc};

/// A staff member, for listing.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffRow {
    /// The address the staff member signs in with, lower-case.
    pub email: String,
    /// `support` or `owner`.
    #[sqlx(try_from = "String")]
    pub role: StaffRole,
    /// Since when.
    pub granted_at: DateTime<Utc>,
}

/// Makes `user_id` staff with `role`, or changes their role.
pub async fn grant(
    conn: Conn<'_>,
    user_id: i64,
    role: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "insert into staff (user_id, role, granted_at) values ($1, $2, $3)
             on conflict (user_id) do update set role = excluded.role, granted_at = excluded.granted_at",
        )
        .bind(user_id)
        .bind(role)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ())
    })
}

/// Removes `user_id` from staff. Returns whether they were staff.
pub async fn revoke(conn: Conn<'_>, user_id: i64) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query("delete from staff where user_id = $1")
            .bind(user_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}

/// The staff role of `user_id`, if any.
pub async fn role_of(conn: Conn<'_>, user_id: i64) -> sqlx::Result<Option<String>> {
    on_conn!(conn, |c| {
        sqlx::query_scalar("select role from staff where user_id = $1")
            .bind(user_id)
            .fetch_optional(c)
            .await
    })
}

/// Every staff member, by email.
pub async fn list(conn: Conn<'_>) -> sqlx::Result<Vec<StaffRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select u.email, s.role, s.granted_at from staff s join users u on u.id = s.user_id order by u.email",
        )
        .fetch_all(c)
        .await
    })
}
