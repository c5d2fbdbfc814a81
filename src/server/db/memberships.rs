//! Queries on `memberships`: who belongs to which organisation, in which role.

use super::Conn;
use crate::{domain::Role, on_conn};
use chrono::{DateTime, Utc};

/// One of a user's memberships, with the organisation's names.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MembershipRow {
    /// The organisation's id (`organisations.id`).
    pub org_id: i64,
    /// Its display name.
    pub org_name: String,
    /// Its unique lower-case, hyphenated name (`acme-corp`); the command line finds
    /// organisations by it.
    pub org_slug: String,
    /// `developer` or `admin`.
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// Whether the organisation requires its members to sign in with a
    /// second factor.
    pub requires_second_factor: bool,
}

/// A member of an organisation, for the members page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    /// The member's user id (`users.id`).
    pub user_id: i64,
    /// The address they sign in with, lower-case.
    pub email: String,
    /// `developer` or `admin`.
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
    /// Whether they sign in with a second factor.
    pub second_factor: bool,
}

/// Adds a user to an organisation.
pub async fn insert(
    conn: Conn<'_>,
    org_id: i64,
    user_id: i64,
    role: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_conn!(conn, |c| {
        sqlx::query(
            "insert into memberships (org_id, user_id, role, created_at) values ($1, $2, $3, $4)",
        )
        .bind(org_id)
        .bind(user_id)
        .bind(role)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ())
    })
}

/// Every organisation a user belongs to, by name.
pub async fn for_user(conn: Conn<'_>, user_id: i64) -> sqlx::Result<Vec<MembershipRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select m.org_id, o.name as org_name, o.slug as org_slug, m.role,
                    o.require_second_factor as requires_second_factor
             from memberships m join organisations o on o.id = m.org_id
             where m.user_id = $1
             order by o.name, o.id",
        )
        .bind(user_id)
        .fetch_all(c)
        .await
    })
}

/// Every member of an organisation, by email.
pub async fn members_of(conn: Conn<'_>, org_id: i64) -> sqlx::Result<Vec<MemberRow>> {
    on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            "select m.user_id, u.email, m.role, m.created_at as joined_at, ",
            crate::has_second_factor!("m.user_id"),
            " as second_factor
             from memberships m join users u on u.id = m.user_id
             where m.org_id = $1
             order by u.email",
        ))
        .bind(org_id)
        .fetch_all(c)
        .await
    })
}

/// At most `limit` members of an organisation by email, after (or, with
/// `backwards`, before) the member with email `cursor` when given.
pub async fn members_page(
    conn: Conn<'_>,
    org_id: i64,
    cursor: Option<&str>,
    backwards: bool,
    limit: i64,
) -> sqlx::Result<Vec<MemberRow>> {
    let (compare, order) = if backwards {
        ("<", "desc")
    } else {
        (">", "asc")
    };
    let sql = format!(
        concat!(
            "select m.user_id, u.email, m.role, m.created_at as joined_at, ",
            crate::has_second_factor!("m.user_id"),
            " as second_factor
             from memberships m join users u on u.id = m.user_id
             where m.org_id = $1 and ($2 is null or u.email {} $2)
             order by u.email {} limit $3",
        ),
        compare, order
    );
    let mut rows: Vec<MemberRow> = on_conn!(conn, |c| {
        sqlx::query_as(&sql)
            .bind(org_id)
            .bind(cursor)
            .bind(limit)
            .fetch_all(c)
            .await
    })?;
    if backwards {
        rows.reverse();
    }
    Ok(rows)
}

/// How many members an organisation has, and how many of them sort
/// before the email `before` when given.
pub async fn count_members(
    conn: Conn<'_>,
    org_id: i64,
    before: Option<&str>,
) -> sqlx::Result<(i64, i64)> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "select count(*), coalesce(sum(case when $2 is not null and u.email < $2 then 1 else 0 end), 0)
             from memberships m join users u on u.id = m.user_id where m.org_id = $1",
        )
        .bind(org_id)
        .bind(before)
        .fetch_one(c)
        .await
    })
}

/// Changes a member's role. Returns whether they were a member.
pub async fn set_role(conn: Conn<'_>, org_id: i64, user_id: i64, role: &str) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query("update memberships set role = $3 where org_id = $1 and user_id = $2")
            .bind(org_id)
            .bind(user_id)
            .bind(role)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}

/// Removes a member. Returns whether they were one.
pub async fn remove(conn: Conn<'_>, org_id: i64, user_id: i64) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query("delete from memberships where org_id = $1 and user_id = $2")
            .bind(org_id)
            .bind(user_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}

/// The user ids of an organisation's admins.
pub async fn admin_ids(conn: Conn<'_>, org_id: i64) -> sqlx::Result<Vec<i64>> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "select user_id from memberships where org_id = $1 and role = 'admin' order by user_id",
        )
        .bind(org_id)
        .fetch_all(c)
        .await
    })
}
