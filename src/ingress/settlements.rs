//! `/admin/settlements/...`: what flow S1 recorded for a statement (the journal entry, its
//! lines, each order's amounts, the payout), and the reconciliation view. Mounted by
//! `admin::routes`, behind the same bearer token.

use super::admin::AdminError;
use super::IngressState;
use crate::jobs::settlement::{self, Reconciliation, SettlementRecord};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use std::time::Duration;

/// `GET /admin/settlements/{statement_id}`.
pub async fn show(
    State(st): State<IngressState>,
    Path(statement_id): Path<String>,
) -> Result<Json<SettlementRecord>, AdminError> {
    settlement::settlement_record(st.state.as_ref(), &statement_id)
        .await?
        .map(Json)
        .ok_or_else(|| {
            AdminError::NotFound(format!(
                "no settlement recorded for statement {statement_id}"
            ))
        })
}

#[derive(Deserialize)]
pub struct ReconciliationQuery {
    /// Sales orders older than this many days with no settlement are listed (default 14).
    #[serde(default)]
    unsettled_days: Option<u64>,
}

/// `GET /admin/settlements/reconciliation`: computed now; also refreshes the gauges.
pub async fn reconciliation(
    State(st): State<IngressState>,
    Query(q): Query<ReconciliationQuery>,
) -> Result<Json<Reconciliation>, AdminError> {
    let days = q.unsettled_days.unwrap_or(14);
    let view = settlement::reconcile(
        st.state.as_ref(),
        Duration::from_secs(days * 86_400),
        crate::queue::now_ms(),
    )
    .await?;
    crate::timers::settlement::publish(&st.metrics, &view);
    Ok(Json(view))
}
