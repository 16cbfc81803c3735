//! `POST /callouts/netsuite`: the signed callouts of the SuiteScripts in `deploy/netsuite/`.
//! Verify (Standard Webhooks, several secrets for rotation, ±5 min), check the account,
//! dedupe on `webhook-id`, enqueue, 200. Answers match the TikTok ingress: 401 for a bad or
//! missing signature or a stale timestamp, 400 for a malformed body, 413 for an oversized one
//! (the body limit layer), 503 when the queue does not answer in time, 200 for duplicates and
//! for event types this version does not act on.
//!
//! Two more refusals: no `NETSUITE_CALLOUT_SECRET` configured → 503 (nothing unsigned is
//! ever accepted; the scripts' outbox keeps the callout and retries once the bridge is
//! configured), and a callout from another NetSuite account → 401 (retried by the outbox,
//! visible there, until someone fixes the configuration).

use super::IngressState;
use crate::metrics::SourceTopic;
use crate::netsuite::callout::{self, CalloutError, CalloutEvent, HEADER_ID};
use crate::queue::{EnqueueOutcome, Job, JobEnvelope};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;

pub use crate::netsuite::callout::SOURCE;

fn empty(status: StatusCode) -> Response {
    (status, ()).into_response()
}

/// The job a callout event asks for; `None` for types this version does not act on.
/// Item fulfillments go to F1; stock changes and closed/cancelled sales orders go to the
/// inventory sync (I1), which reads the sales order's lines itself.
pub fn job_for(event: &CalloutEvent, shop_id: &str) -> Option<Job> {
    match event {
        CalloutEvent::ItemFulfillmentCreated(f)
        | CalloutEvent::ItemFulfillmentShipped(f)
        | CalloutEvent::ItemFulfillmentEdited(f) => Some(Job::FulfillmentPush {
            fulfillment_id: f.item_fulfillment_id.clone(),
            event: event.event_type().to_string(),
            sales_order_id: f.created_from.clone().filter(|s| !s.is_empty()),
        }),
        CalloutEvent::InventoryChanged(c) => Some(Job::InventorySync {
            shop_id: shop_id.to_string(),
            item_ids: c.item_ids.clone(),
            source: "callout".into(),
        }),
        CalloutEvent::SalesOrderClosed(so) | CalloutEvent::SalesOrderCancelled(so) => {
            Some(Job::InventorySync {
                shop_id: shop_id.to_string(),
                item_ids: vec![],
                source: format!("sales_order:{}", so.sales_order_id),
            })
        }
        CalloutEvent::Other(_) => None,
    }
}

/// The queue's dedupe key: NetSuite reuses `webhook-id` on every retry of a callout.
pub fn dedupe_key(webhook_id: &str) -> String {
    format!("netsuite:{webhook_id}")
}

fn now_secs() -> i64 {
    crate::queue::now_ms() / 1000
}

pub async fn receive(State(st): State<IngressState>, headers: HeaderMap, body: Bytes) -> Response {
    if st.callout_secrets.is_empty() {
        st.metrics.rejected(SOURCE, "not_configured");
        tracing::error!(
            "NetSuite callout refused: NETSUITE_CALLOUT_SECRET is not set, so no callout can be verified"
        );
        return empty(StatusCode::SERVICE_UNAVAILABLE);
    }
    let secrets: Vec<&[u8]> = st
        .callout_secrets
        .iter()
        .map(|s| s.expose_secret().as_bytes())
        .collect();
    if let Err(e) = callout::verify_headers(&secrets, &headers, &body, now_secs()) {
        let reason = match e {
            CalloutError::MissingHeader(_) => "missing_signature",
            CalloutError::InvalidId => "bad_webhook_id",
            CalloutError::BadTimestamp | CalloutError::OutsideWindow { .. } => "stale_timestamp",
            CalloutError::NoMatchingSignature | CalloutError::MalformedBody(_) => "bad_signature",
        };
        st.metrics.rejected(SOURCE, reason);
        tracing::warn!(error = %e, "NetSuite callout refused");
        return empty(StatusCode::UNAUTHORIZED);
    }
    // verify_headers checked it is there and well-formed.
    let webhook_id = headers
        .get(HEADER_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim()
        .to_string();
    let span = tracing::Span::current();
    span.record("notification_id", webhook_id.as_str());
    let parsed = match callout::parse(&body) {
        Ok(c) => c,
        Err(e) => {
            st.metrics.rejected(SOURCE, "malformed_json");
            tracing::warn!(error = %e, "NetSuite callout body is not a valid event");
            return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
        }
    };
    let topic = parsed.event.event_type().to_string();
    span.record("topic", topic.as_str());
    let labels = SourceTopic {
        source: SOURCE.into(),
        topic: topic.clone(),
    };
    if !parsed.account_matches(&st.netsuite_account_id) {
        st.metrics.rejected(SOURCE, "wrong_account");
        tracing::warn!(
            account = parsed.account,
            "signed NetSuite callout from another account than NETSUITE_ACCOUNT_ID; refused"
        );
        return empty(StatusCode::UNAUTHORIZED);
    }
    let Some(job) = job_for(&parsed.event, &st.tiktok_shop_id) else {
        st.metrics.webhooks_ignored.get_or_create(&labels).inc();
        tracing::info!(topic, "NetSuite callout type not handled; ignored");
        return empty(StatusCode::OK);
    };
    let envelope = JobEnvelope::new(job);
    let key = dedupe_key(&webhook_id);
    let enqueue = st.queue.enqueue_unique(&key, st.dedupe_ttl, &envelope);
    match tokio::time::timeout(st.enqueue_timeout, enqueue).await {
        Ok(Ok(EnqueueOutcome::Enqueued)) => {
            st.metrics.webhooks_received.get_or_create(&labels).inc();
            span.record("job_id", envelope.id.as_str());
            tracing::debug!(kind = envelope.job.kind(), "NetSuite callout queued");
            empty(StatusCode::OK)
        }
        Ok(Ok(EnqueueOutcome::Duplicate)) => {
            st.metrics.webhooks_duplicate.get_or_create(&labels).inc();
            tracing::debug!("duplicate NetSuite callout; already queued");
            empty(StatusCode::OK)
        }
        Ok(Err(e)) => {
            st.metrics.rejected(SOURCE, "queue_unavailable");
            tracing::error!(error = %e, "queue unavailable; answering 503 so NetSuite retries");
            empty(StatusCode::SERVICE_UNAVAILABLE)
        }
        Err(_) => {
            st.metrics.rejected(SOURCE, "queue_timeout");
            tracing::error!("queue did not answer in time; answering 503 so NetSuite retries");
            empty(StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_map_to_the_agreed_jobs() {
        let body = |t: &str, d: &str| {
            format!(r#"{{"type":"{t}","occurred_at":"x","account":"1","data":{d}}}"#)
        };
        let ev = |t: &str, d: &str| callout::parse(body(t, d).as_bytes()).unwrap().event;
        let f = r#"{"item_fulfillment_id":"4321","created_from":"1234","ship_status":"C"}"#;
        for t in [
            callout::ITEM_FULFILLMENT_CREATED,
            callout::ITEM_FULFILLMENT_SHIPPED,
            callout::ITEM_FULFILLMENT_EDITED,
        ] {
            assert_eq!(
                job_for(&ev(t, f), "77"),
                Some(Job::FulfillmentPush {
                    fulfillment_id: "4321".into(),
                    event: t.into(),
                    sales_order_id: Some("1234".into()),
                })
            );
        }
        let inv = r#"{"record_type":"itemreceipt","record_id":"9","item_ids":["501","502"]}"#;
        assert_eq!(
            job_for(&ev(callout::INVENTORY_CHANGED, inv), "77"),
            Some(Job::InventorySync {
                shop_id: "77".into(),
                item_ids: vec!["501".into(), "502".into()],
                source: "callout".into()
            })
        );
        let so = r#"{"sales_order_id":"1234","order_status":"H"}"#;
        for t in [callout::SALES_ORDER_CLOSED, callout::SALES_ORDER_CANCELLED] {
            assert_eq!(
                job_for(&ev(t, so), "77"),
                Some(Job::InventorySync {
                    shop_id: "77".into(),
                    item_ids: vec![],
                    source: "sales_order:1234".into()
                })
            );
        }
        // What the scripts send since issue 11: any stock-moving record, any trigger, numeric
        // ids, a deleted record with no locations left.
        for (record, trigger) in [
            ("salesorder", "create"),
            ("assemblybuild", "edit"),
            ("itemfulfillment", "pack"),
            ("inventorycount", "approve"),
            ("workordercompletion", "delete"),
        ] {
            let d = format!(
                r#"{{"record_type":"{record}","record_id":88,"item_ids":[501,"502"],"location_ids":[],"trigger":"{trigger}"}}"#
            );
            assert_eq!(
                job_for(&ev(callout::INVENTORY_CHANGED, &d), "77"),
                Some(Job::InventorySync {
                    shop_id: "77".into(),
                    item_ids: vec!["501".into(), "502".into()],
                    source: "callout".into()
                }),
                "{record} {trigger}"
            );
        }
        assert_eq!(job_for(&ev("item.changed", "{}"), "77"), None);
        assert_eq!(dedupe_key("ns_x_1"), "netsuite:ns_x_1");
    }
}
