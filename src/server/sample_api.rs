//! A small sample of the platform's API, in memory, behind the verification
//! layer: real traffic to watch on the usage pages, and a place to try a key.
//!
//! It answers the endpoints of the sample scope catalog under `/sample`
//! (`GET /sample/v1/records`, …). Each organisation has its own data, in
//! memory, starting with a few examples per resource; items, their fields
//! and each organisation's count are capped (413 or 422 with a JSON error
//! past a cap), since this runs in the process that answers verifications.

use super::{
    state::AppState,
    verify::layer::{VerifiedKey, VerifyLayer},
};
use axum::{
    body::Body,
    extract::{Extension, Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Map, Value};
use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, RwLock},
};

/// Largest item, in bytes of JSON (a request body too).
pub const MAX_ITEM_BYTES: usize = 4 * 1024;
/// Most fields one item holds.
pub const MAX_FIELDS: usize = 32;
/// Most items one organisation holds, over every resource.
pub const MAX_ITEMS_PER_ORG: usize = 500;

/// One organisation's data: items by resource, then by id.
#[derive(Default)]
struct OrgData {
    resources: BTreeMap<String, BTreeMap<String, Value>>,
    items: usize,
    next_id: u64,
}

impl OrgData {
    fn seeded() -> Self {
        let mut data = Self::default();
        for i in 1..=3 {
            data.put(
                "records",
                &format!("rec_{i}"),
                json!({"id": format!("rec_{i}"), "title": format!("Record {i}")}),
            );
            data.put("customers", &format!("cus_{i}"), json!({"id": format!("cus_{i}"), "name": format!("Customer {i}"), "email": format!("customer{i}@example.com")}));
            data.put("payments", &format!("pay_{i}"), json!({"id": format!("pay_{i}"), "amount": 1000 * i, "currency": "EUR", "refunded": false}));
            data.put(
                "webhooks",
                &format!("wh_{i}"),
                json!({"id": format!("wh_{i}"), "url": format!("https://hooks.example.com/{i}")}),
            );
            data.put("reports", &format!("rep_{i}"), json!({"id": format!("rep_{i}"), "period": format!("2026-0{i}"), "volume": 100 * i}));
        }
        data.next_id = 3;
        data
    }

    fn put(&mut self, resource: &str, id: &str, value: Value) {
        if self
            .resources
            .entry(resource.to_owned())
            .or_default()
            .insert(id.to_owned(), value)
            .is_none()
        {
            self.items += 1;
        }
    }
}

/// Every organisation's data, apart: a key sees only its own organisation's.
#[derive(Clone, Default)]
struct Store(Arc<RwLock<HashMap<i64, OrgData>>>);

impl Store {
    /// Runs `f` on the organisation's data, seeding it on first use.
    fn with<R>(&self, org_id: i64, f: impl FnOnce(&mut OrgData) -> R) -> R {
        let mut orgs = self.0.write().expect("sample store lock");
        f(orgs.entry(org_id).or_insert_with(OrgData::seeded))
    }
}

/// An error answer: a status, a code for programs and a sentence for people.
struct Problem {
    status: StatusCode,
    error: &'static str,
    message: String,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": self.error, "message": self.message})),
        )
            .into_response()
    }
}

fn problem(status: StatusCode, error: &'static str, message: String) -> Problem {
    Problem {
        status,
        error,
        message,
    }
}

fn not_found(resource: &str, id: &str) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("No {resource} item {id}."),
    )
    .into_response()
}

/// Reads a body of at most [`MAX_ITEM_BYTES`] holding a JSON object of at
/// most [`MAX_FIELDS`] fields (an empty body is an empty object).
async fn item_body(body: Body) -> Result<Map<String, Value>, Problem> {
    let bytes = axum::body::to_bytes(body, MAX_ITEM_BYTES)
        .await
        .map_err(|_| {
            problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("An item is at most {MAX_ITEM_BYTES} bytes of JSON."),
            )
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let item: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|e| {
        problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_item",
            format!("The body must be a JSON object: {e}"),
        )
    })?;
    check_fields(&item)?;
    Ok(item)
}

fn check_fields(item: &Map<String, Value>) -> Result<(), Problem> {
    if item.len() > MAX_FIELDS {
        return Err(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_fields",
            format!("An item holds at most {MAX_FIELDS} fields."),
        ));
    }
    let size = serde_json::to_vec(item).map_or(usize::MAX, |v| v.len());
    if size > MAX_ITEM_BYTES {
        return Err(problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("An item is at most {MAX_ITEM_BYTES} bytes of JSON; this one would be {size}."),
        ));
    }
    Ok(())
}

async fn list(
    State(store): State<Store>,
    Extension(key): Extension<VerifiedKey>,
    Path(resource): Path<String>,
) -> Response {
    store.with(key.org_id, |data| {
        let items: Vec<&Value> = data
            .resources
            .get(&resource)
            .map(|m| m.values().collect())
            .unwrap_or_default();
        Json(json!({ "data": items })).into_response()
    })
}

async fn fetch(
    State(store): State<Store>,
    Extension(key): Extension<VerifiedKey>,
    Path((resource, id)): Path<(String, String)>,
) -> Response {
    store.with(key.org_id, |data| {
        match data.resources.get(&resource).and_then(|m| m.get(&id)) {
            Some(item) => Json(item.clone()).into_response(),
            None => not_found(&resource, &id),
        }
    })
}

async fn create(
    State(store): State<Store>,
    Extension(key): Extension<VerifiedKey>,
    Path(resource): Path<String>,
    body: Body,
) -> Response {
    let mut item = match item_body(body).await {
        Ok(item) => item,
        Err(problem) => return problem.into_response(),
    };
    store.with(key.org_id, |data| {
        if data.items >= MAX_ITEMS_PER_ORG {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "full",
                format!("Your organisation's sample data holds at most {MAX_ITEMS_PER_ORG} items. Delete some first."),
            )
            .into_response();
        }
        data.next_id += 1;
        let prefix: String = resource.chars().take(3).collect();
        let id = format!("{prefix}_{}", data.next_id);
        item.insert("id".into(), json!(id));
        if let Err(problem) = check_fields(&item) {
            return problem.into_response();
        }
        let value = Value::Object(item);
        data.put(&resource, &id, value.clone());
        (StatusCode::CREATED, Json(value)).into_response()
    })
}

async fn update(
    State(store): State<Store>,
    Extension(key): Extension<VerifiedKey>,
    Path((resource, id)): Path<(String, String)>,
    body: Body,
) -> Response {
    let changes = match item_body(body).await {
        Ok(item) => item,
        Err(problem) => return problem.into_response(),
    };
    store.with(key.org_id, |data| {
        match data
            .resources
            .get_mut(&resource)
            .and_then(|m| m.get_mut(&id))
        {
            Some(Value::Object(item)) => {
                let mut merged = item.clone();
                for (k, v) in changes {
                    if k != "id" {
                        merged.insert(k, v);
                    }
                }
                // The item as changed must fit too: no growing it by patches.
                if let Err(problem) = check_fields(&merged) {
                    return problem.into_response();
                }
                *item = merged;
                Json(Value::Object(item.clone())).into_response()
            }
            _ => not_found(&resource, &id),
        }
    })
}

async fn delete(
    State(store): State<Store>,
    Extension(key): Extension<VerifiedKey>,
    Path((resource, id)): Path<(String, String)>,
) -> Response {
    store.with(key.org_id, |data| {
        match data
            .resources
            .get_mut(&resource)
            .and_then(|m| m.remove(&id))
        {
            Some(_) => {
                data.items -= 1;
                StatusCode::NO_CONTENT.into_response()
            }
            None => not_found(&resource, &id),
        }
    })
}

async fn export(State(store): State<Store>, Extension(key): Extension<VerifiedKey>) -> Response {
    store.with(key.org_id, |data| {
        let customers: Vec<&Value> = data
            .resources
            .get("customers")
            .map(|m| m.values().collect())
            .unwrap_or_default();
        Json(json!({ "export": customers })).into_response()
    })
}

async fn refund(
    State(store): State<Store>,
    Extension(key): Extension<VerifiedKey>,
    Path(id): Path<String>,
) -> Response {
    store.with(key.org_id, |data| {
        match data
            .resources
            .get_mut("payments")
            .and_then(|m| m.get_mut(&id))
        {
            Some(Value::Object(payment)) => {
                payment.insert("refunded".into(), json!(true));
                Json(Value::Object(payment.clone())).into_response()
            }
            _ => not_found("payments", &id),
        }
    })
}

async fn no_such_endpoint() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "The sample API has no such endpoint; see the scope catalog on the docs page.".to_owned(),
    )
    .into_response()
}

/// The sample API, mounted at `/sample`, every request verified before it
/// is routed (the layer wraps the whole router).
pub fn router(state: AppState) -> Router<AppState> {
    let api: Router = Router::new()
        .route("/v1/customers/export", get(export))
        .route("/v1/payments/{id}/refund", post(refund))
        .route("/v1/{resource}", get(list).post(create))
        .route(
            "/v1/{resource}/{id}",
            get(fetch).patch(update).delete(delete),
        )
        .fallback(no_such_endpoint)
        .with_state(Store::default());
    let guarded = tower::ServiceBuilder::new()
        .layer(VerifyLayer::new(state))
        .service(api);
    Router::new().nest_service("/sample", guarded)
}
