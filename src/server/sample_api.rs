//! A small sample of the platform's API, in memory, behind the verification
//! layer: real traffic to watch on the usage pages, and a place to try a key.
//!
//! It answers the endpoints of the sample scope catalog under `/sample`
//! (`GET /sample/v1/records`, …). Data lives in memory and starts with a few
//! examples per resource.

use super::{state::AppState, verify::layer::VerifyLayer};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Map, Value};
use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
};

/// Most items one resource holds.
const MAX_ITEMS: usize = 1000;

/// Items by resource, then by id.
#[derive(Clone, Default)]
struct Store(Arc<RwLock<BTreeMap<String, BTreeMap<String, Value>>>>);

impl Store {
    fn seeded() -> Self {
        let mut data: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
        let mut put = |resource: &str, id: &str, value: Value| {
            data.entry(resource.to_owned())
                .or_default()
                .insert(id.to_owned(), value);
        };
        for i in 1..=3 {
            put(
                "records",
                &format!("rec_{i}"),
                json!({"id": format!("rec_{i}"), "title": format!("Record {i}")}),
            );
            put(
                "customers",
                &format!("cus_{i}"),
                json!({"id": format!("cus_{i}"), "name": format!("Customer {i}"), "email": format!("customer{i}@example.com")}),
            );
            put(
                "payments",
                &format!("pay_{i}"),
                json!({"id": format!("pay_{i}"), "amount": 1000 * i, "currency": "EUR", "refunded": false}),
            );
            put(
                "webhooks",
                &format!("wh_{i}"),
                json!({"id": format!("wh_{i}"), "url": format!("https://hooks.example.com/{i}")}),
            );
            put(
                "reports",
                &format!("rep_{i}"),
                json!({"id": format!("rep_{i}"), "period": format!("2026-0{i}"), "volume": 100 * i}),
            );
        }
        Self(Arc::new(RwLock::new(data)))
    }
}

fn not_found(resource: &str, id: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": "not_found", "message": format!("No {resource} item {id}.")})),
    )
        .into_response()
}

async fn list(State(store): State<Store>, Path(resource): Path<String>) -> Response {
    let data = store.0.read().expect("sample store lock");
    let items: Vec<&Value> = data
        .get(&resource)
        .map(|m| m.values().collect())
        .unwrap_or_default();
    Json(json!({ "data": items })).into_response()
}

async fn fetch(
    State(store): State<Store>,
    Path((resource, id)): Path<(String, String)>,
) -> Response {
    let data = store.0.read().expect("sample store lock");
    match data.get(&resource).and_then(|m| m.get(&id)) {
        Some(item) => Json(item.clone()).into_response(),
        None => not_found(&resource, &id),
    }
}

async fn create(
    State(store): State<Store>,
    Path(resource): Path<String>,
    body: Option<Json<Map<String, Value>>>,
) -> Response {
    let mut data = store.0.write().expect("sample store lock");
    let items = data.entry(resource.clone()).or_default();
    if items.len() >= MAX_ITEMS {
        return (
            StatusCode::CONFLICT,
            Json(json!({"error": "full", "message": "The sample store is full."})),
        )
            .into_response();
    }
    let id = format!("{}_{}", &resource[..3.min(resource.len())], items.len() + 1);
    let mut item = body.map(|Json(m)| m).unwrap_or_default();
    item.insert("id".into(), json!(id));
    items.insert(id, Value::Object(item.clone()));
    (StatusCode::CREATED, Json(Value::Object(item))).into_response()
}

async fn update(
    State(store): State<Store>,
    Path((resource, id)): Path<(String, String)>,
    body: Option<Json<Map<String, Value>>>,
) -> Response {
    let mut data = store.0.write().expect("sample store lock");
    match data.get_mut(&resource).and_then(|m| m.get_mut(&id)) {
        Some(Value::Object(item)) => {
            for (k, v) in body.map(|Json(m)| m).unwrap_or_default() {
                if k != "id" {
                    item.insert(k, v);
                }
            }
            Json(Value::Object(item.clone())).into_response()
        }
        _ => not_found(&resource, &id),
    }
}

async fn delete(
    State(store): State<Store>,
    Path((resource, id)): Path<(String, String)>,
) -> Response {
    let mut data = store.0.write().expect("sample store lock");
    match data.get_mut(&resource).and_then(|m| m.remove(&id)) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => not_found(&resource, &id),
    }
}

async fn export(State(store): State<Store>) -> Response {
    let data = store.0.read().expect("sample store lock");
    let customers: Vec<&Value> = data
        .get("customers")
        .map(|m| m.values().collect())
        .unwrap_or_default();
    Json(json!({ "export": customers })).into_response()
}

async fn refund(State(store): State<Store>, Path(id): Path<String>) -> Response {
    let mut data = store.0.write().expect("sample store lock");
    match data.get_mut("payments").and_then(|m| m.get_mut(&id)) {
        Some(Value::Object(payment)) => {
            payment.insert("refunded".into(), json!(true));
            Json(Value::Object(payment.clone())).into_response()
        }
        _ => not_found("payments", &id),
    }
}

/// The sample API, mounted at `/sample`, every request verified.
pub fn router(state: AppState) -> Router<AppState> {
    let api = Router::new()
        .route("/v1/customers/export", get(export))
        .route("/v1/payments/{id}/refund", post(refund))
        .route("/v1/{resource}", get(list).post(create))
        .route(
            "/v1/{resource}/{id}",
            get(fetch).patch(update).delete(delete),
        )
        .with_state(Store::seeded())
        .layer(VerifyLayer::new(state).strip_prefix("/sample"));
    Router::new().nest("/sample", api)
}
