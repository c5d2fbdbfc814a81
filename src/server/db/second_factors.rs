//! Whether an account has a second factor of any kind: a confirmed
//! authenticator app (`totp_authenticators`) or a security key
//! (`security_keys`).

use super::Conn;
use crate::on_conn;

/// The SQL condition "the user whose id is the expression `$user` has a
/// second factor" (a confirmed authenticator app or a security key),
/// written once for every query that asks (`has_second_factor!("u.id")`).
#[macro_export]
macro_rules! has_second_factor {
    ($user:literal) => {
        concat!(
            "(exists (select 1 from totp_authenticators t where t.user_id = ",
            $user,
            " and t.confirmed_at is not null) or exists (select 1 from security_keys k where k.user_id = ",
            $user,
            "))"
        )
    };
}

/// Whether `user_id` has a second factor of any kind.
pub async fn any(conn: Conn<'_>, user_id: i64) -> sqlx::Result<bool> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(concat!("select ", crate::has_second_factor!("$1")))
            .bind(user_id)
            .fetch_one(c)
            .await
    })
}
