//! Organisations: invitations, roles, switching, and isolation between them.

use crate::helpers::GOOD_PASSWORD;
use crate::on_both_databases;
use chrono::Duration;
use portico::{
    api::orgs::{InvitationPreview, InvitationView, MemberView, NewInvitation},
    domain::{invitation::InvitationStatus, Role},
    error::AppError,
};
use reqwest::StatusCode;

fn token_of(invite: &NewInvitation) -> String {
    invite.link.rsplit_once("token=").unwrap().1.to_owned()
}

on_both_databases! {
    async fn members_are_paged_by_cursor_and_stable_under_inserts(app) {
        use portico::{api::orgs::MemberPage, server::db::{memberships, users}};
        let admin = app.sign_up("pager@pages.example", "Pages").await;
        let org_id = admin.me().await.unwrap().active_org_id.unwrap();
        let now = app.clock.now();
        let join = |email: String| {
            let state = app.state.clone();
            async move {
                let mut conn = state.db.acquire().await.unwrap();
                let id = users::insert(conn.conn(), &email, "not a password hash", now).await.unwrap();
                memberships::insert(conn.conn(), org_id, id, "developer", now).await.unwrap();
            }
        };
        for i in 0..59 {
            join(format!("member-{i:02}@pages.example")).await;
        }
        let org = org_id.to_string();
        let page = |query: Vec<(&'static str, String)>| {
            let admin = &admin;
            let org = org.clone();
            async move {
                let mut form = vec![("org_id", org)];
                form.extend(query);
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                admin.call::<MemberPage>("members", &form).await.unwrap()
            }
        };
        let emails = |p: &MemberPage| p.items.iter().map(|m| m.email.clone()).collect::<Vec<_>>();
        let one = page(vec![]).await;
        assert_eq!((one.total, one.first, one.items.len()), (60, 1, 50));
        assert_eq!(one.items[0].email, "member-00@pages.example");
        assert_eq!(one.previous_before, None);
        assert_eq!(one.next_after.as_deref(), Some("member-49@pages.example"));
        // Someone joining meanwhile shifts no page.
        join("aaron@pages.example".to_owned()).await;
        let two = page(vec![("after", one.next_after.clone().unwrap())]).await;
        assert_eq!(two.items.len(), 10);
        assert_eq!(two.items[0].email, "member-50@pages.example");
        assert_eq!(two.items.last().unwrap().email, "pager@pages.example");
        assert_eq!((two.total, two.first, two.next_after.as_deref()), (61, 52, None));
        let back = page(vec![("before", two.previous_before.clone().unwrap())]).await;
        assert_eq!(emails(&back), emails(&one));
        assert_eq!(back.first, 2);
        let top = page(vec![("before", back.previous_before.clone().unwrap())]).await;
        assert_eq!((top.first, top.items[0].email.as_str()), (1, "aaron@pages.example"));
        assert_eq!(top.items.len(), 50);
    }

    async fn an_invited_person_joins_as_the_role_given(app) {
        let admin = app.sign_up("admin@acme.example", "Acme").await;
        let org_id = admin.me().await.unwrap().active_org_id.unwrap().to_string();
        let invite: NewInvitation = admin
            .call("create_invitation", &[("org_id", &org_id), ("role", "developer")])
            .await
            .unwrap();
        assert!(invite.link.starts_with("http://127.0.0.1/join?token="));
        let token = token_of(&invite);

        let newcomer = app.client();
        let preview: InvitationPreview = newcomer.call("preview_invitation", &[("token", &token)]).await.unwrap();
        assert_eq!(preview.org_name, "Acme");
        assert_eq!(preview.role, Role::Developer);
        assert_eq!(preview.invited_by, "admin@acme.example");
        assert_eq!(preview.problem, None);

        app.sign_up_with(&newcomer, &[("email", "dev@acme.example"), ("password", GOOD_PASSWORD), ("invitation", &token)])
            .await
            .unwrap();
        let me = newcomer.me().await.unwrap();
        assert_eq!(me.orgs.len(), 1);
        assert_eq!(me.active_org().unwrap().name, "Acme");
        assert_eq!(me.active_org().unwrap().role, Role::Developer);

        let members: Vec<MemberView> = admin.call::<portico::api::orgs::MemberPage>("members", &[("org_id", &org_id)]).await.unwrap().items;
        let emails: Vec<_> = members.iter().map(|m| (m.email.as_str(), m.role)).collect();
        assert_eq!(emails, vec![("admin@acme.example", Role::Admin), ("dev@acme.example", Role::Developer)]);

        // The link works once.
        let late = app.client();
        let err = late
            .call::<()>("sign_up", &[("email", "late@acme.example"), ("password", GOOD_PASSWORD), ("invitation", &token)])
            .await
            .unwrap_err();
        assert!(err.error.message_for("invitation").unwrap().contains("already been used"));
        assert_eq!(late.me().await, None);

        let list: Vec<InvitationView> = admin.call("invitations", &[("org_id", &org_id)]).await.unwrap();
        assert_eq!(list[0].status, InvitationStatus::Accepted);
        assert_eq!(list[0].accepted_by.as_deref(), Some("dev@acme.example"));
    }

    async fn an_existing_user_accepts_an_invitation_and_switches(app) {
        let admin = app.sign_up("admin@one.example", "One").await;
        let one_id = admin.me().await.unwrap().active_org_id.unwrap();
        let other = app.sign_up("me@two.example", "Two").await;
        let invite: NewInvitation = admin
            .call("create_invitation", &[("org_id", &one_id.to_string()), ("role", "admin")])
            .await
            .unwrap();
        other.call::<()>("accept_invitation", &[("token", &token_of(&invite))]).await.unwrap();
        let me = other.me().await.unwrap();
        assert_eq!(me.orgs.len(), 2);
        assert_eq!(me.active_org_id, Some(one_id), "acts in the organisation just joined");
        assert!(me.is_admin());
        let two_id = me.orgs.iter().find(|o| o.name == "Two").unwrap().id;
        other.call::<()>("switch_org", &[("org_id", &two_id.to_string())]).await.unwrap();
        assert_eq!(other.me().await.unwrap().active_org().unwrap().name, "Two");

        // Accepting again is a clear error, and changes nothing.
        let again = other.call::<()>("accept_invitation", &[("token", &token_of(&invite))]).await.unwrap_err();
        assert_eq!(again.status, StatusCode::CONFLICT);
    }

    async fn invitations_expire_after_seven_days_and_can_be_withdrawn(app) {
        let admin = app.sign_up("admin@exp.example", "Expiry").await;
        let org_id = admin.me().await.unwrap().active_org_id.unwrap().to_string();
        let old: NewInvitation = admin.call("create_invitation", &[("org_id", &org_id), ("role", "developer")]).await.unwrap();
        let withdrawn: NewInvitation = admin.call("create_invitation", &[("org_id", &org_id), ("role", "developer")]).await.unwrap();
        admin
            .call::<()>("withdraw_invitation", &[("org_id", &org_id), ("invitation_id", &withdrawn.id.to_string())])
            .await
            .unwrap();
        let twice = admin
            .call::<()>("withdraw_invitation", &[("org_id", &org_id), ("invitation_id", &withdrawn.id.to_string())])
            .await
            .unwrap_err();
        assert_eq!(twice.status, StatusCode::CONFLICT);

        let preview: InvitationPreview = app.client().call("preview_invitation", &[("token", &token_of(&withdrawn))]).await.unwrap();
        assert!(preview.problem.unwrap().contains("withdrawn"));

        app.clock.advance(Duration::days(7) + Duration::seconds(1));
        let newcomer = app.client();
        let err = newcomer
            .call::<()>("sign_up", &[("email", "late@exp.example"), ("password", GOOD_PASSWORD), ("invitation", &token_of(&old))])
            .await
            .unwrap_err();
        assert!(err.error.message_for("invitation").unwrap().contains("expired"));
        let bogus = newcomer.call::<InvitationPreview>("preview_invitation", &[("token", "0000")]).await.unwrap_err();
        assert_eq!(bogus.status, StatusCode::NOT_FOUND);
    }

    async fn developers_cannot_invite(app) {
        let admin = app.sign_up("admin@dev.example", "Devs").await;
        let org_id = admin.me().await.unwrap().active_org_id.unwrap().to_string();
        let invite: NewInvitation = admin.call("create_invitation", &[("org_id", &org_id), ("role", "developer")]).await.unwrap();
        let dev = app.client();
        app.sign_up_with(&dev, &[("email", "dev@dev.example"), ("password", GOOD_PASSWORD), ("invitation", &token_of(&invite))])
            .await
            .unwrap();
        let err = dev.call::<NewInvitation>("create_invitation", &[("org_id", &org_id), ("role", "admin")]).await.unwrap_err();
        assert_eq!(err.status, StatusCode::FORBIDDEN);
        assert!(matches!(err.error, AppError::Forbidden(_)));
        let err = dev.call::<Vec<InvitationView>>("invitations", &[("org_id", &org_id)]).await.unwrap_err();
        assert_eq!(err.status, StatusCode::FORBIDDEN);
        // Developers may see who their colleagues are.
        let members: Vec<MemberView> = dev.call::<portico::api::orgs::MemberPage>("members", &[("org_id", &org_id)]).await.unwrap().items;
        assert_eq!(members.len(), 2);
    }

    async fn a_member_of_one_organisation_reads_nothing_of_another(app) {
        let a = app.sign_up("admin@a.example", "Org A").await;
        let b = app.sign_up("admin@b.example", "Org B").await;
        let b_id = b.me().await.unwrap().active_org_id.unwrap().to_string();
        let b_invite: NewInvitation = b.call("create_invitation", &[("org_id", &b_id), ("role", "developer")]).await.unwrap();

        let not_found = |err: crate::helpers::CallError| {
            assert_eq!(err.status, StatusCode::NOT_FOUND, "{:?}", err.error);
            assert!(matches!(err.error, AppError::NotFound(_)));
        };
        not_found(a.call::<portico::api::orgs::MemberPage>("members", &[("org_id", &b_id)]).await.unwrap_err());
        not_found(a.call::<Vec<InvitationView>>("invitations", &[("org_id", &b_id)]).await.unwrap_err());
        not_found(a.call::<NewInvitation>("create_invitation", &[("org_id", &b_id), ("role", "admin")]).await.unwrap_err());
        not_found(
            a.call::<()>("withdraw_invitation", &[("org_id", &b_id), ("invitation_id", &b_invite.id.to_string())])
                .await
                .unwrap_err(),
        );
        not_found(a.call::<()>("switch_org", &[("org_id", &b_id)]).await.unwrap_err());
        // A's own invitation id space cannot reach B's invitation either.
        let a_id = a.me().await.unwrap().active_org_id.unwrap().to_string();
        let err = a
            .call::<()>("withdraw_invitation", &[("org_id", &a_id), ("invitation_id", &b_invite.id.to_string())])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT);
        let list: Vec<InvitationView> = b.call("invitations", &[("org_id", &b_id)]).await.unwrap();
        assert_eq!(list[0].status, InvitationStatus::Open, "B's invitation is untouched");
        assert_eq!(a.me().await.unwrap().orgs.len(), 1);
    }

    async fn signed_out_callers_get_sign_in_errors(app) {
        let anonymous = app.client();
        let err = anonymous.call::<portico::api::orgs::MemberPage>("members", &[("org_id", "1")]).await.unwrap_err();
        assert_eq!(err.status, StatusCode::UNAUTHORIZED);
        assert_eq!(err.error, AppError::Unauthenticated);
        let err = anonymous.call::<()>("create_org", &[("name", "Sneaky")]).await.unwrap_err();
        assert_eq!(err.error, AppError::Unauthenticated);
    }

    async fn organisation_names_get_unique_slugs(app) {
        let first = app.sign_up("one@slug.example", "Same Name").await;
        let second = app.sign_up("two@slug.example", "Same Name").await;
        assert_eq!(first.me().await.unwrap().active_org().unwrap().slug, "same-name");
        assert_eq!(second.me().await.unwrap().active_org().unwrap().slug, "same-name-2");
        second.call::<()>("create_org", &[("name", "Same  Name!")]).await.unwrap();
        assert_eq!(second.me().await.unwrap().active_org().unwrap().slug, "same-name-3");
        let err = second.call::<()>("create_org", &[("name", " ")]).await.unwrap_err();
        assert!(err.error.message_for("name").is_some());
    }

    async fn malformed_input_gets_a_clear_error(app) {
        let admin = app.sign_up("admin@bad.example", "Bad Input").await;
        let org_id = admin.me().await.unwrap().active_org_id.unwrap().to_string();
        let err = admin.call::<NewInvitation>("create_invitation", &[("org_id", &org_id), ("role", "owner")]).await.unwrap_err();
        assert!(err.error.message_for("role").unwrap().contains("developer or admin"));
        let err = admin.call::<()>("switch_org", &[("org_id", "not-a-number")]).await.unwrap_err();
        assert!(err.status.is_client_error(), "{:?}", err.status);
        assert!(matches!(err.error, AppError::Transport(_)));
    }
}
