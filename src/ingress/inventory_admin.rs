//! `/admin/inventory/...`: the last reconcile's drift report, and a reconcile on demand.
//! Mounted by `ingress::admin::routes`, behind the same bearer token.

use crate::ingress::admin::AdminError;
use crate::ingress::IngressState;
use crate::inventory::store::{self, DriftReport};
use crate::queue::{Job, JobEnvelope};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// `GET /admin/inventory/drift`: what the last reconcile found (an empty report with
/// `checked_at_ms: 0` before the first one).
pub async fn drift(State(st): State<IngressState>) -> Result<Json<DriftReport>, AdminError> {
    let report = store::load_drift(st.state.as_ref(), &st.tiktok_shop_id)
        .await?
        .unwrap_or_else(|| DriftReport {
            shop_id: st.tiktok_shop_id.clone(),
            ..DriftReport::default()
        });
    Ok(Json(report))
}

/// `POST /admin/inventory/reconcile`: queue a full reconcile now (202 with the job id).
pub async fn reconcile(State(st): State<IngressState>) -> Result<Response, AdminError> {
    let job = JobEnvelope::new(Job::InventoryReconcile {
        shop_id: st.tiktok_shop_id.clone(),
    });
    st.queue.enqueue(&job).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "job_id": job.id }))).into_response())
}
