//! Anomaly alerts: on a key, for an organisation, for staff.

pub use crate::model::alerts::{AlertPage, AlertView};
use crate::{domain::alerts::AlertSettings, error::AppError};
use leptos::prelude::*;

/// A key's alerts.
#[server(endpoint = "key_alerts")]
pub async fn key_alerts(key_id: String) -> Result<Vec<AlertView>, AppError> {
    use crate::server::{alerts, context::request_context};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            alerts::for_key(&ctx.state, &actor, &key_id).await
        }
        .await,
    )
}

/// The organisation's alerts (admins).
#[server(endpoint = "org_alerts")]
pub async fn org_alerts(
    org_id: i64,
    #[server(default)] all: bool,
    #[server(default)] after: Option<i64>,
    #[server(default)] before: Option<i64>,
) -> Result<AlertPage, AppError> {
    use crate::server::{alerts, context::request_context};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            let cursor = alerts::cursor(after, before);
            alerts::for_org(&ctx.state, &actor, org_id, all, cursor).await
        }
        .await,
    )
}

/// Every organisation's live alerts (staff).
#[server(endpoint = "staff_alerts")]
pub async fn staff_alerts(
    #[server(default)] after: Option<i64>,
    #[server(default)] before: Option<i64>,
) -> Result<AlertPage, AppError> {
    use crate::server::{alerts, context::request_context};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            alerts::for_staff(&ctx.state, &actor, alerts::cursor(after, before)).await
        }
        .await,
    )
}

/// Acknowledges (`acknowledged`) or resolves (`resolved`) an alert.
#[server(endpoint = "set_alert_state")]
pub async fn set_alert_state(id: i64, state: String) -> Result<(), AppError> {
    use crate::server::{alerts, context::request_context};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            alerts::set_state(&ctx.state, &actor, id, &state, ctx.client_addr).await
        }
        .await,
    )
}

/// The organisation's alert thresholds (admins).
#[server(endpoint = "alert_settings")]
pub async fn get_alert_settings(org_id: i64) -> Result<AlertSettings, AppError> {
    use crate::server::{alerts, context::request_context};
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            alerts::settings(&ctx.state, &actor, org_id).await
        }
        .await,
    )
}

/// Sets the organisation's alert thresholds (admins).
#[server(endpoint = "set_alert_settings")]
pub async fn set_alert_settings(
    org_id: i64,
    spike_factor: String,
    spike_floor: String,
    wrong_secret_threshold: String,
    #[server(default)] auto_suspend_on_spike: Option<String>,
    #[server(default)] auto_suspend_on_retired_use: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{
        alerts::{self, SettingsForm},
        context::request_context,
    };
    super::respond(
        async {
            let ctx = request_context().await?;
            let actor = ctx.actor().await?;
            let on = |v: Option<String>| v.is_some_and(|v| v == "on" || v == "true");
            alerts::save_settings(
                &ctx.state,
                &actor,
                org_id,
                SettingsForm {
                    spike_factor,
                    spike_floor,
                    wrong_secret_threshold,
                    auto_suspend_on_spike: on(auto_suspend_on_spike),
                    auto_suspend_on_retired_use: on(auto_suspend_on_retired_use),
                },
                ctx.client_addr,
            )
            .await
        }
        .await,
    )
}
