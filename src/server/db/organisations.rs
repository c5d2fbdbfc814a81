//! Queries on `organisations`.

use super::Conn;
use crate::on_conn;
use chrono::{DateTime, Utc};

/// An organisation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrgRow {
    /// Primary key.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Unique short name for URLs and the command line.
    pub slug: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// Inserts an organisation and returns the new id.
pub async fn insert(
    conn: Conn<'_>,
    name: &str,
    slug: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "insert into organisations (name, slug, created_at) values ($1, $2, $3) returning id",
        )
        .bind(name)
        .bind(slug)
        .bind(now)
        .fetch_one(c)
        .await
    })
}

/// The organisation with this id.
pub async fn find(conn: Conn<'_>, id: i64) -> sqlx::Result<Option<OrgRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as("select id, name, slug, created_at from organisations where id = $1")
            .bind(id)
            .fetch_optional(c)
            .await
    })
}

/// The organisation with this slug.
pub async fn find_by_slug(conn: Conn<'_>, slug: &str) -> sqlx::Result<Option<OrgRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as("select id, name, slug, created_at from organisations where slug = $1")
            .bind(slug)
            .fetch_optional(c)
            .await
    })
}

/// Slugs in use that equal `base` or start with `base-`, to pick a free one.
pub async fn slugs_like(conn: Conn<'_>, base: &str) -> sqlx::Result<Vec<String>> {
    let pattern = format!("{base}-%");
    on_conn!(conn, |c| {
        sqlx::query_scalar("select slug from organisations where slug = $1 or slug like $2")
            .bind(base)
            .bind(&pattern)
            .fetch_all(c)
            .await
    })
}

/// Sets whether `id` requires its members to sign in with a second factor.
pub async fn set_require_second_factor(
    conn: Conn<'_>,
    id: i64,
    required: bool,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query("update organisations set require_second_factor = $2 where id = $1")
            .bind(id)
            .bind(required)
            .execute(c)
            .await
            .map(|_| ())
    })
}

/// Members of `id` who have no confirmed second factor, by email.
pub async fn members_without_second_factor(conn: Conn<'_>, id: i64) -> sqlx::Result<Vec<String>> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(concat!(
            "select u.email from memberships m join users u on u.id = m.user_id
             where m.org_id = $1 and not ",
            crate::has_second_factor!("m.user_id"),
            " order by u.email",
        ))
        .bind(id)
        .fetch_all(c)
        .await
    })
}
