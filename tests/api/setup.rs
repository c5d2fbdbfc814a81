//! The one-time setup link that creates the platform owner.

use crate::helpers::GOOD_PASSWORD;
use crate::on_both_databases;
use portico::{domain::StaffRole, server::setup::ensure_setup_link};
use reqwest::StatusCode;

on_both_databases! {
    async fn the_setup_link_works_once(app) {
        let link = ensure_setup_link(&app.state).await.unwrap().expect("an empty database gets a link");
        let token = link.rsplit_once("token=").unwrap().1.to_owned();
        assert!(link.starts_with("http://127.0.0.1/setup?token="));

        let owner = app.client();
        assert!(owner.call::<bool>("setup_open", &[("token", &token)]).await.unwrap());
        // A weak password is refused and the link survives the mistake.
        let err = owner
            .call::<()>("complete_setup", &[("token", &token), ("email", "owner@platform.example"), ("password", "short")])
            .await
            .unwrap_err();
        assert!(err.error.message_for("password").is_some());
        owner
            .call::<()>("complete_setup", &[("token", &token), ("email", "owner@platform.example"), ("password", GOOD_PASSWORD)])
            .await
            .unwrap();
        let me = owner.me().await.unwrap();
        assert_eq!(me.staff, Some(StaffRole::Owner));
        assert!(!me.email_verified, "the owner confirms the address like everyone");
        let mut conn = app.state.db.acquire().await.unwrap();
        let user = portico::server::db::users::find_by_email(conn.conn(), "owner@platform.example").await.unwrap().unwrap();
        let waiting = portico::server::db::email_verifications::last_sent(conn.conn(), user.id).await.unwrap();
        assert!(waiting.is_some(), "a confirmation link was made for the owner");
        drop(conn);
        assert!(me.orgs.is_empty());

        let again = app.client();
        assert!(!again.call::<bool>("setup_open", &[("token", &token)]).await.unwrap());
        let err = again
            .call::<()>("complete_setup", &[("token", &token), ("email", "second@platform.example"), ("password", GOOD_PASSWORD)])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        assert_eq!(again.me().await, None);
        // With accounts in the database, no new link is made.
        assert_eq!(ensure_setup_link(&app.state).await.unwrap(), None);
    }

    async fn a_restart_replaces_an_unused_link(app) {
        let first = ensure_setup_link(&app.state).await.unwrap().unwrap();
        let second = ensure_setup_link(&app.state).await.unwrap().unwrap();
        assert_ne!(first, second);
        let old_token = first.rsplit_once("token=").unwrap().1;
        assert!(!app.client().call::<bool>("setup_open", &[("token", old_token)]).await.unwrap());
    }

    async fn a_setup_link_expires_after_an_hour(app) {
        let link = ensure_setup_link(&app.state).await.unwrap().unwrap();
        let token = link.rsplit_once("token=").unwrap().1.to_owned();
        app.clock.advance(chrono::Duration::minutes(59));
        assert!(app.client().call::<bool>("setup_open", &[("token", &token)]).await.unwrap());
        app.clock.advance(chrono::Duration::minutes(2));
        let late = app.client();
        assert!(!late.call::<bool>("setup_open", &[("token", &token)]).await.unwrap());
        let err = late
            .call::<()>("complete_setup", &[("token", &token), ("email", "late@platform.example"), ("password", GOOD_PASSWORD)])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        assert!(err.error.to_string().contains("expired"), "{}", err.error);
        assert_eq!(late.me().await, None);
    }

    async fn a_setup_link_stops_working_once_an_owner_exists(app) {
        let link = ensure_setup_link(&app.state).await.unwrap().unwrap();
        let token = link.rsplit_once("token=").unwrap().1.to_owned();
        // People sign up; one is made owner from the command line.
        app.sign_up("first@platform.example", "Platform").await;
        portico::server::staff::grant(&app.state.db, &app.state.clock, "first@platform.example", StaffRole::Owner)
            .await
            .unwrap();
        let stranger = app.client();
        assert!(!stranger.call::<bool>("setup_open", &[("token", &token)]).await.unwrap());
        let err = stranger
            .call::<()>("complete_setup", &[("token", &token), ("email", "stranger@evil.example"), ("password", GOOD_PASSWORD)])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        assert_eq!(stranger.me().await, None, "no second owner from an old link");
    }
}
