//! The audit trail as a person searches it: filters kept by the server,
//! reasons on rotation and retirement, and every membership change.

use crate::helpers::{create_key, GOOD_PASSWORD};
use crate::on_both_databases;
use chrono::Duration;
use portico::{
    error::AppError,
    model::{
        keys::{AuditEntry, AuditPage, CreatedKey},
        orgs::{InvitationView, NewInvitation},
    },
};
use reqwest::StatusCode;

fn actions(page: &AuditPage) -> Vec<&str> {
    page.entries.iter().map(|e| e.action.as_str()).collect()
}

fn find<'a>(page: &'a AuditPage, action: &str) -> &'a AuditEntry {
    page.entries
        .iter()
        .find(|e| e.action == action)
        .unwrap_or_else(|| panic!("no {action} in {:?}", actions(page)))
}

on_both_databases! {
    async fn every_way_into_an_organisation_and_every_withdrawn_invitation_is_recorded(app) {
        let admin = app.sign_up("owner@trail.example", "Trail Co").await;
        let org_id = admin.me().await.unwrap().active_org_id.unwrap().to_string();
        let audit = || async {
            admin.call::<AuditPage>("org_audit", &[("org_id", org_id.as_str())]).await.unwrap()
        };
        // Creating the organisation is its first member joining.
        let created = audit().await;
        let e = find(&created, "member_joined");
        assert_eq!(e.actor, "owner@trail.example");
        assert_eq!(
            e.details.as_deref(),
            Some("owner@trail.example joined as an admin, creating the organisation")
        );
        assert!(e.client_addr.is_some());

        // Through an invitation at sign-up.
        let invite = |email: Option<&'static str>| {
            let admin = &admin;
            let org_id = org_id.clone();
            async move {
                let mut form = vec![("org_id", org_id.clone()), ("role", "developer".to_owned())];
                if let Some(email) = email {
                    form.push(("email", email.to_owned()));
                }
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                admin.call::<NewInvitation>("create_invitation", &form).await.unwrap()
            }
        };
        let link = invite(None).await.link;
        let token = link.rsplit_once("token=").unwrap().1.to_owned();
        let dev = app.client();
        app.sign_up_with(&dev, &[("email", "dev@trail.example"), ("password", GOOD_PASSWORD), ("invitation", &token)])
            .await
            .unwrap();
        // Accepting one while signed in (another organisation's member).
        let other = app.sign_up("other@trail.example", "Elsewhere").await;
        let link = invite(None).await.link;
        let token = link.rsplit_once("token=").unwrap().1.to_owned();
        other.call::<()>("accept_invitation", &[("token", &token)]).await.unwrap();
        // An invitation bound to an address joins on confirmation.
        let link = invite(Some("bound@trail.example")).await.link;
        let token = link.rsplit_once("token=").unwrap().1.to_owned();
        app.sign_up_with(&app.client(), &[("email", "bound@trail.example"), ("password", GOOD_PASSWORD), ("invitation", &token)])
            .await
            .unwrap();

        // Withdrawing an invitation is recorded with whom it was for.
        invite(Some("never@trail.example")).await;
        let open: Vec<InvitationView> = admin.call("invitations", &[("org_id", org_id.as_str())]).await.unwrap();
        let never = open.iter().find(|i| i.email.as_deref() == Some("never@trail.example")).unwrap();
        admin
            .call::<()>("withdraw_invitation", &[("org_id", org_id.as_str()), ("invitation_id", &never.id.to_string())])
            .await
            .unwrap();
        let err = admin
            .call::<()>("withdraw_invitation", &[("org_id", org_id.as_str()), ("invitation_id", &never.id.to_string())])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::CONFLICT, "withdrawing twice records nothing");

        let trail = audit().await;
        let joined: Vec<(String, Option<String>)> = trail
            .entries
            .iter()
            .filter(|e| e.action == "member_joined")
            .map(|e| (e.actor.clone(), e.details.clone()))
            .collect();
        assert_eq!(
            joined,
            vec![
                ("bound@trail.example".into(), Some("bound@trail.example joined as a developer through an invitation".into())),
                ("other@trail.example".into(), Some("other@trail.example joined as a developer through an invitation".into())),
                ("dev@trail.example".into(), Some("dev@trail.example joined as a developer through an invitation".into())),
                ("owner@trail.example".into(), Some("owner@trail.example joined as an admin, creating the organisation".into())),
            ]
        );
        let withdrawn: Vec<&AuditEntry> =
            trail.entries.iter().filter(|e| e.action == "invitation_withdrawn").collect();
        assert_eq!(withdrawn.len(), 1);
        assert_eq!(
            withdrawn[0].details.as_deref(),
            Some("Withdrew the invitation for never@trail.example as a developer")
        );
        // The other organisation's trail has only its own events.
        let elsewhere: AuditPage = other
            .call("org_audit", &[("org_id", &other.me().await.unwrap().orgs.iter().find(|o| o.name == "Elsewhere").unwrap().id.to_string())])
            .await
            .unwrap();
        assert_eq!(actions(&elsewhere), vec!["member_joined"]);
    }

    async fn rotation_and_early_retirement_keep_their_reasons(app) {
        let admin = app.sign_up("rotator@trail.example", "Rotators").await;
        let org_id = admin.me().await.unwrap().active_org_id.unwrap().to_string();
        let key = create_key(&admin, &org_id, &[]).await.unwrap();
        let err = admin
            .call::<CreatedKey>("rotate_key", &[("key_id", &key.key.key_id), ("overlap", "24h"), ("reason", &"x".repeat(501))])
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(err.error.message_for("reason").is_some());
                let next: CreatedKey = admin
            .call("rotate_key", &[("key_id", &key.key.key_id), ("overlap", "24h"), ("reason", "  Yearly rotation ")])
            .await
            .unwrap();
        // The successor says which key it replaces and when that one stops.
        let (old, until) = next.replaces.clone().expect("a successor names its predecessor");
        assert_eq!(old, key.key.display_id);
        assert_eq!(until.timestamp(), (app.clock.now() + Duration::hours(24)).timestamp());
        assert!(key.replaces.is_none());
        admin
            .call::<()>("retire_key", &[("key_id", &key.key.key_id), ("reason", "Every service uses the new key")])
            .await
            .unwrap();
        // Without a reason, rotating still works (none recorded).
        admin
            .call::<CreatedKey>("rotate_key", &[("key_id", &next.key.key_id), ("overlap", "24h")])
            .await
            .unwrap();
        let trail: AuditPage = admin.call("org_audit", &[("org_id", &org_id), ("key", &key.key.key_id)]).await.unwrap();
        assert_eq!(find(&trail, "rotated").reason.as_deref(), Some("Yearly rotation"));
        assert_eq!(find(&trail, "retired").reason.as_deref(), Some("Every service uses the new key"));
        let trail: AuditPage = admin.call("org_audit", &[("org_id", &org_id), ("key", &next.key.key_id), ("action", "rotated")]).await.unwrap();
        assert_eq!(actions(&trail), vec!["rotated"]);
        assert_eq!(trail.entries[0].reason, None);
    }

    async fn the_trail_is_filtered_by_who_what_key_and_days(app) {
        let admin = app.sign_up("filterer@trail.example", "Filterers").await;
        let org_id = admin.me().await.unwrap().active_org_id.unwrap().to_string();
        let first = create_key(&admin, &org_id, &[]).await.unwrap();
        app.clock.advance(Duration::days(2));
        admin.sign_in("filterer@trail.example").await;
        let second = create_key(&admin, &org_id, &[("name", "Second key")]).await.unwrap();
        admin
            .call::<()>("revoke_key", &[("key_id", &second.key.key_id), ("reason", "no longer needed")])
            .await
            .unwrap();
        let page = |form: Vec<(&'static str, String)>| {
            let admin = &admin;
            let org_id = org_id.clone();
            async move {
                let mut full = vec![("org_id", org_id)];
                full.extend(form);
                let full: Vec<(&str, &str)> = full.iter().map(|(k, v)| (*k, v.as_str())).collect();
                admin.call::<AuditPage>("org_audit", &full).await
            }
        };
        let by_key = page(vec![("key", first.key.key_id.clone())]).await.unwrap();
        assert_eq!(actions(&by_key), vec!["created"]);
        let by_action = page(vec![("action", "created".into())]).await.unwrap();
        assert_eq!(by_action.entries.len(), 2);
        let revoked = page(vec![("action", "revoked".into()), ("actor", "Filterer@Trail.example".into())]).await.unwrap();
        assert_eq!(actions(&revoked), vec!["revoked"]);
        let nobody = page(vec![("actor", "someone@else.example".into())]).await.unwrap();
        assert!(nobody.entries.is_empty());
        let today = app.clock.now().format("%Y-%m-%d").to_string();
        let two_days_ago = (app.clock.now() - Duration::days(2)).format("%Y-%m-%d").to_string();
        let recent = page(vec![("from", today.clone()), ("action", "created".into())]).await.unwrap();
        assert_eq!(recent.entries.len(), 1);
        assert_eq!(recent.entries[0].key_name.as_deref(), Some("Second key"));
        let early = page(vec![("to", two_days_ago.clone()), ("action", "created".into())]).await.unwrap();
        assert_eq!(early.entries.len(), 1);
        assert_eq!(early.entries[0].key_name.as_deref(), Some("Billing sync"));

        // Bad filters are said next to their fields, all at once.
        let err = page(vec![("from", "30/11/2026".into()), ("action", "deleted_everything".into())]).await.unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        let AppError::Invalid(fields) = &err.error else { panic!("{:?}", err.error) };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, vec!["from", "action"]);
                let err = page(vec![("before", "abc".into())]).await.unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(err.error.message_for("before").is_some(), "{:?}", err.error);
        let err = page(vec![("from", today), ("to", two_days_ago)]).await.unwrap_err();
        assert!(err.error.message_for("to").unwrap().contains("before the first"));
    }
}
