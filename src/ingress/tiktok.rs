//! `POST /webhooks/tiktok`: verify the signature over the raw body before parsing, dedupe
//! on `tts_notification_id` (or a hash of the event when TikTok sends none), enqueue, 200.

use super::IngressState;
use crate::metrics::SourceTopic;
use crate::queue::{EnqueueOutcome, Job, JobEnvelope, SyncTrigger};
use crate::tiktok::models::opt_id_string;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::{Digest, Sha256};

const SOURCE: &str = "tiktok";

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    topic: i64,
    #[serde(default, deserialize_with = "opt_id_string")]
    tts_notification_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    shop_id: Option<String>,
    #[serde(default)]
    data: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct OrderData {
    #[serde(deserialize_with = "crate::tiktok::models::id_string")]
    order_id: String,
    #[serde(default)]
    update_time: Option<i64>,
}

/// Topics this version acts on. Others are answered 200, logged and counted.
fn job_for(topic: i64, shop_id: &str, data: &serde_json::Value) -> Result<Option<Job>, String> {
    let trigger = match topic {
        1 => SyncTrigger::StatusWebhook,
        3 => SyncTrigger::AddressWebhook,
        _ => return Ok(None),
    };
    let d: OrderData = serde_json::from_value(data.clone())
        .map_err(|e| format!("topic {topic} data without a usable order_id: {e}"))?;
    Ok(Some(Job::OrderSync {
        shop_id: shop_id.to_string(),
        order_id: d.order_id,
        trigger,
        update_time: d.update_time,
    }))
}

fn dedupe_key(env: &Envelope) -> String {
    match &env.tts_notification_id {
        Some(id) => format!("tiktok:{id}"),
        None => {
            // Topic 3 carries no notification id: the same event resent hashes the same.
            let mut h = Sha256::new();
            h.update(env.topic.to_string());
            h.update(b"\0");
            h.update(env.shop_id.as_deref().unwrap_or(""));
            h.update(b"\0");
            h.update(env.data.to_string());
            format!("tiktok-hash:{}", hex::encode(h.finalize()))
        }
    }
}

fn empty(status: StatusCode) -> Response {
    (status, ()).into_response()
}

pub async fn receive(State(st): State<IngressState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(sig) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        st.metrics.rejected(SOURCE, "missing_signature");
        return empty(StatusCode::UNAUTHORIZED);
    };
    if !crate::tiktok::sign::verify_webhook(
        &st.tiktok_app_key,
        st.tiktok_app_secret.expose_secret(),
        &body,
        sig,
    ) {
        st.metrics.rejected(SOURCE, "bad_signature");
        tracing::warn!("tiktok webhook with a wrong signature refused");
        return empty(StatusCode::UNAUTHORIZED);
    }
    let env: Envelope = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) => {
            st.metrics.rejected(SOURCE, "malformed_json");
            tracing::warn!(error = %e, "tiktok webhook body is not a valid event");
            return (StatusCode::BAD_REQUEST, format!("malformed event: {e}")).into_response();
        }
    };
    let topic = env.topic.to_string();
    let labels = SourceTopic {
        source: SOURCE.into(),
        topic: topic.clone(),
    };
    let shop_id = env.shop_id.clone().unwrap_or_default();
    if shop_id != st.tiktok_shop_id {
        st.metrics.webhooks_ignored.get_or_create(&labels).inc();
        tracing::warn!(
            topic,
            shop_id,
            "webhook for a shop this bridge does not serve; ignored"
        );
        return empty(StatusCode::OK);
    }
    let job = match job_for(env.topic, &shop_id, &env.data) {
        Ok(Some(job)) => job,
        Ok(None) => {
            st.metrics.webhooks_ignored.get_or_create(&labels).inc();
            tracing::info!(topic, "webhook topic not handled; ignored");
            return empty(StatusCode::OK);
        }
        Err(why) => {
            st.metrics.rejected(SOURCE, "malformed_event");
            tracing::warn!(topic, why, "webhook refused");
            return (StatusCode::BAD_REQUEST, why).into_response();
        }
    };
    let key = dedupe_key(&env);
    let envelope = JobEnvelope::new(job);
    let enqueue = st.queue.enqueue_unique(&key, st.dedupe_ttl, &envelope);
    match tokio::time::timeout(st.enqueue_timeout, enqueue).await {
        Ok(Ok(EnqueueOutcome::Enqueued)) => {
            st.metrics.webhooks_received.get_or_create(&labels).inc();
            tracing::debug!(topic, job_id = %envelope.id, "webhook queued");
            empty(StatusCode::OK)
        }
        Ok(Ok(EnqueueOutcome::Duplicate)) => {
            st.metrics.webhooks_duplicate.get_or_create(&labels).inc();
            empty(StatusCode::OK)
        }
        Ok(Err(e)) => {
            st.metrics.rejected(SOURCE, "queue_unavailable");
            tracing::error!(error = %e, "queue unavailable; answering 503 so TikTok retries");
            empty(StatusCode::SERVICE_UNAVAILABLE)
        }
        Err(_) => {
            st.metrics.rejected(SOURCE, "queue_timeout");
            tracing::error!("queue did not answer in time; answering 503 so TikTok retries");
            empty(StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(json: &str) -> Envelope {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn status_and_address_topics_become_order_syncs() {
        let e = env(
            r#"{"type":1,"tts_notification_id":"7327112393057371910","shop_id":"7494049642642441621","timestamp":1644412885,"data":{"order_id":"576486316948490001","order_status":"UNPAID","is_on_hold_order":false,"update_time":1644412885}}"#,
        );
        let job = job_for(e.topic, "s", &e.data).unwrap().unwrap();
        assert_eq!(
            job,
            Job::OrderSync {
                shop_id: "s".into(),
                order_id: "576486316948490001".into(),
                trigger: SyncTrigger::StatusWebhook,
                update_time: Some(1644412885)
            }
        );
        let e = env(
            r#"{"type":3,"shop_id":"7494049642642441621","timestamp":1644412885,"data":{"order_id":576486316948490001,"update_time":1644412885}}"#,
        );
        assert!(matches!(
            job_for(e.topic, "s", &e.data).unwrap(),
            Some(Job::OrderSync { trigger: SyncTrigger::AddressWebhook, ref order_id, .. }) if order_id == "576486316948490001"
        ));
    }

    #[test]
    fn other_topics_are_not_jobs() {
        let e = env(
            r#"{"type":5,"tts_notification_id":"1","shop_id":"s","timestamp":1,"data":{"product_id":576486316948490000}}"#,
        );
        assert_eq!(job_for(e.topic, "s", &e.data).unwrap(), None);
    }

    #[test]
    fn an_order_topic_without_order_id_is_refused() {
        let e =
            env(r#"{"type":1,"tts_notification_id":"1","shop_id":"s","timestamp":1,"data":{}}"#);
        assert!(job_for(e.topic, "s", &e.data).is_err());
    }

    #[test]
    fn dedupe_uses_notification_id_else_a_hash_of_the_event() {
        let a =
            env(r#"{"type":1,"tts_notification_id":"42","shop_id":"s","data":{"order_id":"1"}}"#);
        assert_eq!(dedupe_key(&a), "tiktok:42");
        let b = env(r#"{"type":3,"shop_id":"s","data":{"order_id":"1","update_time":5}}"#);
        let c = env(r#"{"type":3,"shop_id":"s","data":{"order_id":"1","update_time":5}}"#);
        let d = env(r#"{"type":3,"shop_id":"s","data":{"order_id":"1","update_time":6}}"#);
        assert_eq!(dedupe_key(&b), dedupe_key(&c));
        assert_ne!(dedupe_key(&b), dedupe_key(&d));
    }
}
