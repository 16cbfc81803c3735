//! `POST /webhooks/tiktok`: verify the signature over the raw body before parsing, dedupe
//! on `tts_notification_id` (or a hash of the event when TikTok sends none), enqueue, 200.
//! Topics 1 and 3 queue an order sync, 11 a cancellation, 12 a return.
//! Topics 6 and 7 (shop deauthorized, authorization expiring) are recorded in state instead:
//! they change what the workers may do, not what they must do.

use super::IngressState;
use crate::history::HistoryEvent;
use crate::metrics::{Shop, SourceTopic};
use crate::queue::{EnqueueOutcome, Job, JobEnvelope, SyncTrigger};
use crate::tiktok::authorization::{self, ExpiryNotice};
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
    timestamp: Option<i64>,
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

/// Topic 11 `data` (CANCELLATION_STATUS_CHANGE): the cancel id names the cancellation.
#[derive(Debug, Deserialize)]
struct CancellationData {
    #[serde(deserialize_with = "crate::tiktok::models::id_string")]
    order_id: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    cancel_id: Option<String>,
}

/// Topic 12 `data` (RETURN_STATUS_CHANGE).
#[derive(Debug, Deserialize)]
struct ReturnData {
    #[serde(deserialize_with = "crate::tiktok::models::id_string")]
    order_id: String,
    #[serde(deserialize_with = "crate::tiktok::models::id_string")]
    return_id: String,
}

/// Topics this version acts on. Others are answered 200, logged and counted.
fn job_for(topic: i64, shop_id: &str, data: &serde_json::Value) -> Result<Option<Job>, String> {
    let trigger = match topic {
        1 => SyncTrigger::StatusWebhook,
        3 => SyncTrigger::AddressWebhook,
        11 => {
            let d: CancellationData = serde_json::from_value(data.clone())
                .map_err(|e| format!("topic 11 data without a usable order_id: {e}"))?;
            return Ok(Some(Job::Cancellation {
                shop_id: shop_id.to_string(),
                order_id: d.order_id,
                cancel_id: d.cancel_id,
            }));
        }
        12 => {
            let d: ReturnData = serde_json::from_value(data.clone()).map_err(|e| {
                format!("topic 12 data without a usable order_id and return_id: {e}")
            })?;
            return Ok(Some(Job::ReturnSync {
                shop_id: shop_id.to_string(),
                order_id: d.order_id,
                return_id: d.return_id,
            }));
        }
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

/// Topic 6 `data`: only a human-readable message.
#[derive(Debug, Default, Deserialize)]
struct DeauthorizationData {
    #[serde(default)]
    message: String,
}

/// Topic 7 `data`; `expiration_time` arrives as a string of Unix seconds.
#[derive(Debug, Deserialize)]
struct ExpiryData {
    #[serde(deserialize_with = "crate::tiktok::models::id_string")]
    expiration_time: String,
    #[serde(default)]
    message: String,
}

/// A state call bounded like the enqueue, so a slow backend still answers 503 in time.
async fn bounded<T>(
    st: &IngressState,
    call: impl std::future::Future<Output = Result<T, crate::state::StateError>>,
) -> Result<T, String> {
    match tokio::time::timeout(st.enqueue_timeout, call).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("state backend did not answer in time".into()),
    }
}

fn state_unavailable(st: &IngressState, why: &str) -> Response {
    st.metrics.rejected(SOURCE, "queue_unavailable");
    tracing::error!(
        error = why,
        "state unavailable; answering 503 so TikTok retries"
    );
    empty(StatusCode::SERVICE_UNAVAILABLE)
}

/// Topic 6: the merchant removed the app. Recorded before answering 200, so no worker calls
/// TikTok for the shop afterwards; its jobs park until it is authorized again.
async fn shop_deauthorized(
    st: &IngressState,
    env: &Envelope,
    shop_id: &str,
    labels: &SourceTopic,
) -> Response {
    let data: DeauthorizationData = serde_json::from_value(env.data.clone()).unwrap_or_default();
    // A retry of this notification arriving after the shop was authorized again must not
    // revoke it a second time: TikTok's retries reuse the notification id.
    let seen = format!("seen:deauthorization:{}", dedupe_key(env));
    match bounded(st, st.state.get(&seen)).await {
        Ok(Some(_)) => {
            st.metrics.webhooks_duplicate.get_or_create(labels).inc();
            return empty(StatusCode::OK);
        }
        Ok(None) => {}
        Err(why) => return state_unavailable(st, &why),
    }
    // Monotonic: a validly signed notice older than the newest authorization change the
    // bridge applied (a re-authorization since) is a replay and changes nothing.
    if let Some(ts) = env.timestamp {
        match bounded(
            st,
            authorization::is_newer_than_known(st.state.as_ref(), shop_id, ts),
        )
        .await
        {
            Ok(true) => {}
            Ok(false) => {
                st.metrics.webhooks_stale.get_or_create(labels).inc();
                tracing::warn!(
                    shop_id,
                    event_time = ts,
                    "deauthorization notice older than the shop's last authorization change; ignored"
                );
                return empty(StatusCode::OK);
            }
            Err(why) => return state_unavailable(st, &why),
        }
    }
    let record = authorization::record_deauthorization(
        st.state.as_ref(),
        shop_id,
        env.timestamp,
        &data.message,
    );
    if let Err(why) = bounded(st, record).await {
        return state_unavailable(st, &why);
    }
    if let Some(ts) = env.timestamp {
        if let Err(why) = bounded(
            st,
            authorization::note_change_at(st.state.as_ref(), shop_id, ts),
        )
        .await
        {
            return state_unavailable(st, &why);
        }
    }
    if let Err(why) = bounded(st, st.state.set(&seen, "1", Some(st.dedupe_ttl))).await {
        // The deauthorization stands; only a late retry could re-apply it.
        tracing::warn!(
            error = why,
            "could not mark the deauthorization notice as seen"
        );
    }
    st.metrics.webhooks_received.get_or_create(labels).inc();
    st.metrics
        .tiktok_shop_deauthorized
        .get_or_create(&Shop {
            shop_id: shop_id.to_string(),
        })
        .set(1);
    tracing::warn!(
        shop_id,
        "TikTok says the merchant removed the app from this shop; its work is parked until it is authorized again"
    );
    empty(StatusCode::OK)
}

/// Topic 7: the authorization ends soon; the merchant must authorize again before then.
async fn authorization_expiring(
    st: &IngressState,
    env: &Envelope,
    shop_id: &str,
    labels: &SourceTopic,
) -> Response {
    let parsed = serde_json::from_value::<ExpiryData>(env.data.clone())
        .map_err(|e| e.to_string())
        .and_then(|d| match d.expiration_time.trim().parse::<i64>() {
            Ok(at) => Ok((at, d.message)),
            Err(e) => Err(format!("expiration_time is not Unix seconds: {e}")),
        });
    let (expires_at, message) = match parsed {
        Ok(p) => p,
        Err(e) => {
            let why = format!("topic 7 data without a usable expiration_time: {e}");
            st.metrics.rejected(SOURCE, "malformed_event");
            tracing::warn!(why, "webhook refused");
            return (StatusCode::BAD_REQUEST, why).into_response();
        }
    };
    let notice = ExpiryNotice {
        shop_id: shop_id.to_string(),
        expires_at,
        noticed_at_ms: crate::queue::now_ms(),
        message,
    };
    if let Err(why) = bounded(
        st,
        authorization::record_expiry_notice(st.state.as_ref(), &notice),
    )
    .await
    {
        return state_unavailable(st, &why);
    }
    st.metrics.webhooks_received.get_or_create(labels).inc();
    st.metrics
        .tiktok_authorization_expiry
        .get_or_create(&Shop {
            shop_id: shop_id.to_string(),
        })
        .set(expires_at);
    let days_left = (expires_at - crate::queue::now_ms() / 1000) / 86_400;
    tracing::warn!(
        shop_id,
        expires_at,
        days_left,
        "the shop's TikTok authorization expires soon; the merchant must authorize the app again"
    );
    empty(StatusCode::OK)
}

/// Ingress's line in the order's history, written off the answer's path: history is for
/// people, and TikTok's 3 s budget is not.
fn record_received(
    st: &IngressState,
    env: &Envelope,
    job: &Job,
    outcome: &str,
    job_id: Option<String>,
) {
    let Some(order_id) = job.order_id() else {
        return;
    };
    let event = HistoryEvent::EventReceived {
        source: SOURCE.into(),
        topic: env.topic.to_string(),
        notification_id: env.tts_notification_id.clone(),
        outcome: outcome.into(),
        job_id,
    };
    st.history.record(order_id, event);
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
    let span = tracing::Span::current();
    span.record("topic", env.topic);
    if let Some(id) = &env.tts_notification_id {
        span.record("notification_id", id.as_str());
    }
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
    match env.topic {
        6 => return shop_deauthorized(&st, &env, &shop_id, &labels).await,
        7 => return authorization_expiring(&st, &env, &shop_id, &labels).await,
        _ => {}
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
    if let Some(order_id) = job.order_id() {
        span.record("order_id", order_id);
    }
    let key = dedupe_key(&env);
    let envelope = JobEnvelope::new(job);
    let enqueue = st.queue.enqueue_unique(&key, st.dedupe_ttl, &envelope);
    match tokio::time::timeout(st.enqueue_timeout, enqueue).await {
        Ok(Ok(EnqueueOutcome::Enqueued)) => {
            st.metrics.webhooks_received.get_or_create(&labels).inc();
            span.record("job_id", envelope.id.as_str());
            tracing::debug!("webhook queued");
            record_received(
                &st,
                &env,
                &envelope.job,
                "queued",
                Some(envelope.id.clone()),
            );
            empty(StatusCode::OK)
        }
        Ok(Ok(EnqueueOutcome::Duplicate)) => {
            st.metrics.webhooks_duplicate.get_or_create(&labels).inc();
            tracing::debug!("duplicate webhook; already queued");
            record_received(&st, &env, &envelope.job, "duplicate", None);
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
    fn cancellation_and_return_topics_become_their_jobs() {
        // Topic 11 and 12 samples of the reference (§2.4); 12 with the missing comma put back.
        let e = env(
            r#"{"type":11,"tts_notification_id":"7327112393057371910","shop_id":"7494049642642441621","timestamp":1644412885,"data":{"order_id":"576486316948490001","cancellations_role":"BUYER","cancel_status":"CANCELLATION_REQUEST_PENDING","cancel_id":"4035318504086604100","create_time":1627587600}}"#,
        );
        assert_eq!(
            job_for(e.topic, "s", &e.data).unwrap(),
            Some(Job::Cancellation {
                shop_id: "s".into(),
                order_id: "576486316948490001".into(),
                cancel_id: Some("4035318504086604100".into()),
            })
        );
        let e = env(
            r#"{"type":12,"tts_notification_id":"7327112393057371910","shop_id":"7494049642642441621","timestamp":1644412885,"data":{"order_id":"576486316948490001","return_role":"BUYER","return_type":"REFUND","return_status":"RETURN_OR_REFUND_REQUEST_PENDING","return_id":"576486316948490001","create_time":1627587600,"update_time":1644412885}}"#,
        );
        assert_eq!(
            job_for(e.topic, "s", &e.data).unwrap(),
            Some(Job::ReturnSync {
                shop_id: "s".into(),
                order_id: "576486316948490001".into(),
                return_id: "576486316948490001".into(),
            })
        );
        let no_return_id = env(
            r#"{"type":12,"tts_notification_id":"1","shop_id":"s","timestamp":1,"data":{"order_id":"1"}}"#,
        );
        assert!(job_for(no_return_id.topic, "s", &no_return_id.data).is_err());
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
