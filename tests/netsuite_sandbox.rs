//! The real `NetSuiteClient` against the NetSuite sandbox over HTTP, under both auth modes:
//! idempotent upserts, token caching, login failures, SuiteQL paging and pager rules,
//! 429 handling, the account concurrency limit, and permanent content errors.

#[allow(dead_code)]
#[path = "common/sandbox_link.rs"]
mod sandbox_link;
use sandbox_link::NetSuiteClientConfig as _;
use sandbox_link::SandboxAuthMode;

use bridge::config::NetSuiteAuth;
use bridge::netsuite::oauth2::{AssertionClaims, AssertionSigner};
use bridge::netsuite::records::{RecordRef, SalesOrder, SalesOrderLine, Sublist};
use bridge::netsuite::{tba, NetSuiteClient, NetSuiteError, RetryPolicy};
use rust_decimal::Decimal;
use sandbox::netsuite::{
    start, NetSuiteFaults, NetSuiteSandbox, NetSuiteSandboxConfig, SANDBOX_PRIVATE_KEY_PEM,
};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const MODES: [SandboxAuthMode; 2] = [SandboxAuthMode::Tba, SandboxAuthMode::OAuth2];

async fn sandbox(cfg: NetSuiteSandboxConfig) -> Arc<NetSuiteSandbox> {
    start(cfg, "127.0.0.1:0").await.expect("sandbox starts").0
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(200),
        max_total_wait: Duration::from_secs(10),
    }
}

fn client(sb: &NetSuiteSandbox, mode: SandboxAuthMode, concurrency: usize) -> NetSuiteClient {
    NetSuiteClient::with_retry_policy(sb.client_config(mode, concurrency), fast_retry())
        .expect("client builds")
}

fn order(external_id: &str, customer: &str, items: &[&str]) -> SalesOrder {
    SalesOrder {
        external_id: external_id.into(),
        entity: RecordRef::new(customer),
        subsidiary: None,
        location: None,
        currency: None,
        order_status: RecordRef::new("B"),
        other_ref_num: "576461413038785752".into(),
        tiktok_order_id: "576461413038785752".into(),
        tran_date: None,
        shipping_address: None,
        memo: None,
        item: Sublist {
            items: items
                .iter()
                .map(|id| SalesOrderLine {
                    item: RecordRef::new(*id),
                    quantity: Decimal::from(2),
                    rate: Decimal::new(1999, 2),
                    amount: Decimal::new(3998, 2),
                    description: None,
                    location: None,
                    tiktok_sku_id: None,
                })
                .collect(),
        },
    }
}

#[tokio::test]
async fn upserting_the_same_order_twice_keeps_one_record_under_both_auth_modes() {
    for mode in MODES {
        let sb = sandbox(NetSuiteSandboxConfig::default()).await;
        let customer = sb.add_customer(Some("tiktok-buyer:1"), "Buyer One");
        let item = sb.add_item("SKU-1");
        let ns = client(&sb, mode, 2);
        let so = order("tiktok-order:1", &customer, &[&item]);

        let first = ns
            .upsert("salesOrder", "tiktok-order:1", &so, &["item"])
            .await
            .unwrap();
        let second = ns
            .upsert("salesOrder", "tiktok-order:1", &so, &["item"])
            .await
            .unwrap();
        assert_eq!(first, second, "{mode:?}");
        assert_eq!(sb.sales_orders().len(), 1, "{mode:?}");
        assert_eq!(sb.sales_order_writes("tiktok-order:1"), 2);
        let stored = sb.sales_order_by_external_id("tiktok-order:1").unwrap();
        assert_eq!(stored["id"], json!(first));
        // replace=item: the second write did not append lines.
        assert_eq!(stored["item"]["items"].as_array().unwrap().len(), 1);
        assert_eq!(sb.requests_by("PUT", "salesOrder"), 2);

        let read = ns.get_record("salesOrder", &first).await.unwrap();
        assert_eq!(read["externalId"], json!("tiktok-order:1"));
        assert_eq!(read["entity"]["id"], json!(customer));
    }
}

#[tokio::test]
async fn customer_upsert_returns_the_location_id() {
    let sb = sandbox(NetSuiteSandboxConfig::default()).await;
    let ns = client(&sb, SandboxAuthMode::OAuth2, 2);
    let body =
        json!({"externalId": "tiktok-buyer:9", "companyName": "TikTok buyer", "isPerson": false});
    let id = ns
        .upsert("customer", "tiktok-buyer:9", &body, &[])
        .await
        .unwrap();
    let stored = sb.customer_by_external_id("tiktok-buyer:9").unwrap();
    assert_eq!(stored["id"], json!(id));
}

#[tokio::test]
async fn missing_location_falls_back_to_a_suiteql_lookup() {
    let sb = sandbox(NetSuiteSandboxConfig::default()).await;
    let customer = sb.add_customer(None, "Shop");
    let item = sb.add_item("SKU-1");
    sb.set_faults(NetSuiteFaults {
        omit_location: true,
        ..NetSuiteFaults::default()
    });
    let ns = client(&sb, SandboxAuthMode::Tba, 2);
    let id = ns
        .upsert(
            "salesOrder",
            "tiktok-order:7",
            &order("tiktok-order:7", &customer, &[&item]),
            &["item"],
        )
        .await
        .unwrap();
    assert_eq!(
        sb.sales_order_by_external_id("tiktok-order:7").unwrap()["id"],
        json!(id)
    );
    assert_eq!(sb.requests_by("POST", "suiteql"), 1);
}

#[tokio::test]
async fn oauth2_token_is_bought_once_for_many_calls() {
    let sb = sandbox(NetSuiteSandboxConfig::default()).await;
    let customer = sb.add_customer(None, "Shop");
    let item = sb.add_item("SKU-1");
    let ns = client(&sb, SandboxAuthMode::OAuth2, 4);
    let calls = (0..20).map(|i| {
        let ns = ns.clone();
        let so = order(&format!("tiktok-order:{i}"), &customer, &[&item]);
        async move {
            ns.upsert("salesOrder", &so.external_id.clone(), &so, &["item"])
                .await
        }
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(sb.token_requests(), 1, "single-flight, cached token");
    assert_eq!(ns.token_requests(), 1);
    assert_eq!(ns.requests_made(), 21);
    assert_eq!(sb.sales_orders().len(), 20);
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once_then_the_call_succeeds() {
    let sb = sandbox(NetSuiteSandboxConfig::default()).await;
    let item = sb.add_item("SKU-1");
    let ns = client(&sb, SandboxAuthMode::OAuth2, 2);
    ns.get_record("inventoryItem", &item).await.unwrap();
    sb.revoke_tokens();
    ns.get_record("inventoryItem", &item).await.unwrap();
    assert_eq!(sb.token_requests(), 2);
    assert_eq!(sb.auth_failures(), 1);
    assert_eq!(sb.last_auth_failure().as_deref(), Some("token_unknown"));
}

#[tokio::test]
async fn expired_bearer_gets_401_invalid_token_challenge() {
    let sb = sandbox(NetSuiteSandboxConfig::default()).await;
    let resp = reqwest::Client::new()
        .get(format!("{}/record/v1/customer/1", sb.rest_base()))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["o:errorDetails"][0]["o:errorCode"],
        json!("INVALID_LOGIN")
    );

    let short = sandbox(NetSuiteSandboxConfig {
        token_ttl: Duration::from_secs(1),
        ..NetSuiteSandboxConfig::default()
    })
    .await;
    let cfg = short.config().clone();
    let signer = AssertionSigner::from_pem(SANDBOX_PRIVATE_KEY_PEM, "").unwrap();
    let claims = AssertionClaims::new(
        &cfg.client_id,
        &short.token_url(),
        bridge::netsuite::oauth2::unix_now(),
    );
    let (_, token) = post_token(
        &short,
        &signer.sign_with_kid(&claims, &cfg.certificate_id).unwrap(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let resp = reqwest::Client::new()
        .get(format!("{}/record/v1/customer/1", short.rest_base()))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    assert_eq!(short.last_auth_failure().as_deref(), Some("token_expired"));
}

#[tokio::test]
async fn tba_with_a_wrong_secret_is_invalid_login_and_final() {
    let sb = sandbox(NetSuiteSandboxConfig::default()).await;
    let mut cfg = sb.client_config(SandboxAuthMode::Tba, 2);
    if let NetSuiteAuth::Tba { token_secret, .. } = &mut cfg.auth {
        *token_secret = SecretString::from("wrong".to_string());
    }
    let ns = NetSuiteClient::new(cfg).unwrap();
    let err = ns.get_record("customer", "1").await.unwrap_err();
    assert!(
        matches!(&err, NetSuiteError::Auth { status: 401, code, .. } if code == "INVALID_LOGIN"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(sb.last_auth_failure().as_deref(), Some("InvalidSignature"));
    assert_eq!(ns.requests_made(), 1, "TBA failures are not retried");
}

#[tokio::test]
async fn tba_lower_case_realm_and_replayed_nonce_are_refused() {
    let sb = sandbox(NetSuiteSandboxConfig {
        account_id: "1234567_SB1".into(),
        ..NetSuiteSandboxConfig::default()
    })
    .await;
    let cfg = sb.config().clone();
    let creds = tba::TbaCredentials {
        consumer_key: &cfg.consumer_key,
        consumer_secret: &cfg.consumer_secret,
        token_id: &cfg.token_id,
        token_secret: &cfg.token_secret,
    };
    let url = url::Url::parse(&format!("{}/record/v1/customer/1", sb.rest_base())).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let http = reqwest::Client::new();
    let send = |header: String| {
        let http = http.clone();
        let url = url.clone();
        async move {
            http.get(url)
                .header("Authorization", header)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };

    let lower = tba::TbaRequestParams {
        realm: "1234567_sb1",
        nonce: "nonce-lower-1",
        timestamp: now,
    };
    assert_eq!(
        send(tba::authorization_header("GET", &url, &creds, &lower)).await,
        401
    );
    assert_eq!(sb.last_auth_failure().as_deref(), Some("realm_rejected"));

    let ok = tba::TbaRequestParams {
        realm: "1234567_SB1",
        nonce: "nonce-once-1",
        timestamp: now,
    };
    let header = tba::authorization_header("GET", &url, &creds, &ok);
    assert_eq!(
        send(header.clone()).await,
        404,
        "authenticated, record absent"
    );
    assert_eq!(send(header).await, 401);
    assert_eq!(sb.last_auth_failure().as_deref(), Some("nonce_used"));

    let stale = tba::TbaRequestParams {
        realm: "1234567_SB1",
        nonce: "nonce-stale-1",
        timestamp: now - 600,
    };
    assert_eq!(
        send(tba::authorization_header("GET", &url, &creds, &stale)).await,
        401
    );
    assert_eq!(sb.last_auth_failure().as_deref(), Some("InvalidTimestamp"));

    let short = tba::TbaRequestParams {
        realm: "1234567_SB1",
        nonce: "abc",
        timestamp: now,
    };
    assert_eq!(
        send(tba::authorization_header("GET", &url, &creds, &short)).await,
        401
    );
    assert_eq!(sb.last_auth_failure().as_deref(), Some("nonce_rejected"));
}

async fn post_token(sb: &NetSuiteSandbox, assertion: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(sb.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn token_endpoint_checks_the_assertion() {
    let sb = sandbox(NetSuiteSandboxConfig::default()).await;
    let cfg = sb.config().clone();
    let signer = AssertionSigner::from_pem(SANDBOX_PRIVATE_KEY_PEM, "ES256").unwrap();
    let now = bridge::netsuite::oauth2::unix_now();
    let good = AssertionClaims::new(&cfg.client_id, &sb.token_url(), now);

    let (status, body) = post_token(
        &sb,
        &signer.sign_with_kid(&good, &cfg.certificate_id).unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], json!("Bearer"));
    assert_eq!(body["expires_in"], json!(3600));

    let cases = [
        (
            "wrong kid",
            signer.sign_with_kid(&good, "other-cert").unwrap(),
        ),
        (
            "wrong iss",
            signer
                .sign_with_kid(
                    &AssertionClaims {
                        iss: "intruder".into(),
                        ..good.clone()
                    },
                    &cfg.certificate_id,
                )
                .unwrap(),
        ),
        (
            "wrong aud",
            signer
                .sign_with_kid(
                    &AssertionClaims {
                        aud: "https://elsewhere/token".into(),
                        ..good.clone()
                    },
                    &cfg.certificate_id,
                )
                .unwrap(),
        ),
        (
            "lifetime over an hour",
            signer
                .sign_with_kid(
                    &AssertionClaims {
                        exp: now + 4000,
                        ..good.clone()
                    },
                    &cfg.certificate_id,
                )
                .unwrap(),
        ),
        (
            "expired",
            signer
                .sign_with_kid(
                    &AssertionClaims {
                        iat: now - 4000,
                        exp: now - 1000,
                        ..good.clone()
                    },
                    &cfg.certificate_id,
                )
                .unwrap(),
        ),
        (
            "no rest_webservices scope",
            signer
                .sign_with_kid(
                    &AssertionClaims {
                        scope: vec!["restlets".into()],
                        ..good.clone()
                    },
                    &cfg.certificate_id,
                )
                .unwrap(),
        ),
        ("garbage", "not.a.jwt".to_string()),
    ];
    for (name, jwt) in cases {
        let (status, body) = post_token(&sb, &jwt).await;
        assert_eq!(status, 400, "{name}");
        assert_eq!(body["error"], json!("invalid_grant"), "{name}");
    }
}

#[tokio::test]
async fn suiteql_pages_through_2500_items_once_each() {
    for mode in MODES {
        let sb = sandbox(NetSuiteSandboxConfig::default()).await;
        let ids: Vec<String> = (0..2500)
            .map(|i| sb.add_item(&format!("SKU-{i:05}")))
            .collect();
        let ns = client(&sb, mode, 2);
        let rows = ns
            .suiteql("SELECT id, itemid FROM item ORDER BY id", &[])
            .await
            .unwrap();
        let got: Vec<String> = rows
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, ids, "{mode:?}");
        assert_eq!(rows[0]["itemid"], json!("SKU-00000"));
        assert!(!rows[0].contains_key("links"));
        assert_eq!(sb.requests_by("POST", "suiteql"), 3);
    }
}

#[tokio::test]
async fn find_items_by_sku_chunks_and_skips_unknown_skus() {
    let sb = sandbox(NetSuiteSandboxConfig::default()).await;
    let mut expected = std::collections::HashMap::new();
    for i in 0..450 {
        let sku = format!("SKU-{i}");
        expected.insert(sku.clone(), sb.add_item(&sku));
    }
    sb.add_item_with_fields("INTERNAL-1", &[("upccode", "0001")]);
    let ns = client(&sb, SandboxAuthMode::Tba, 2);
    let mut wanted: Vec<String> = expected.keys().cloned().collect();
    wanted.push("NOPE".into());
    let found = ns.find_items_by_sku("itemid", &wanted).await.unwrap();
    assert_eq!(found, expected);
    assert_eq!(
        sb.requests_by("POST", "suiteql"),
        3,
        "451 skus in chunks of 200"
    );

    let by_upc = ns
        .find_items_by_sku("upccode", &["0001".to_string()])
        .await
        .unwrap();
    assert_eq!(by_upc.len(), 1);
}

async fn raw_suiteql(sb: &NetSuiteSandbox, query: &str, transient: bool) -> (u16, Value) {
    let signer = AssertionSigner::from_pem(SANDBOX_PRIVATE_KEY_PEM, "").unwrap();
    let cfg = sb.config().clone();
    let claims = AssertionClaims::new(
        &cfg.client_id,
        &sb.token_url(),
        bridge::netsuite::oauth2::unix_now(),
    );
    let (_, token) = post_token(
        sb,
        &signer.sign_with_kid(&claims, &cfg.certificate_id).unwrap(),
    )
    .await;
    let mut req = reqwest::Client::new()
        .post(format!("{}/query/v1/suiteql{query}", sb.rest_base()))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&json!({"q": "SELECT id, itemid FROM item ORDER BY id"}));
    if transient {
        req = req.header("Prefer", "transient");
    }
    let resp = req.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn sandbox_enforces_the_suiteql_pager_rules() {
    let sb = sandbox(NetSuiteSandboxConfig::default()).await;
    for i in 0..30 {
        sb.add_item(&format!("SKU-{i}"));
    }
    let (status, page) = raw_suiteql(&sb, "?limit=10&offset=20", true).await;
    assert_eq!(status, 200);
    assert_eq!(page["count"], json!(10));
    assert_eq!(page["hasMore"], json!(false));
    assert_eq!(page["offset"], json!(20));
    assert_eq!(page["totalResults"], json!(30));
    assert_eq!(page["items"][0]["links"], json!([]));
    assert!(page["items"][0]["id"].is_string());

    for (query, param) in [
        ("?limit=1001&offset=0", "limit"),
        ("?limit=10&offset=15", "offset"),
        ("?limit=1000&offset=100000", "offset"),
    ] {
        let (status, body) = raw_suiteql(&sb, query, true).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(
            body["o:errorDetails"][0]["o:errorQueryParam"],
            json!(param),
            "{query}"
        );
    }
    let (status, _) = raw_suiteql(&sb, "?limit=10&offset=0", false).await;
    assert_eq!(status, 400, "Prefer: transient is required");

    let ns = client(&sb, SandboxAuthMode::OAuth2, 1);
    let err = ns.suiteql("SELECT * FROM item", &[]).await.unwrap_err();
    assert!(
        matches!(&err, NetSuiteError::Other { status: 400, code, detail } if code == "INVALID_PARAMETER" && detail.contains("does not understand")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_429_storm_is_retried_inside_the_client() {
    let sb = sandbox(NetSuiteSandboxConfig::default()).await;
    let customer = sb.add_customer(None, "Shop");
    let item = sb.add_item("SKU-1");
    sb.set_faults(NetSuiteFaults {
        throttle_next: 4,
        ..NetSuiteFaults::default()
    });
    let ns = client(&sb, SandboxAuthMode::Tba, 2);
    ns.upsert(
        "salesOrder",
        "tiktok-order:1",
        &order("tiktok-order:1", &customer, &[&item]),
        &["item"],
    )
    .await
    .unwrap();
    assert_eq!(sb.throttled(), 4);
    assert_eq!(ns.requests_made(), 5);
    assert_eq!(sb.sales_orders().len(), 1);

    // A storm longer than the retry budget ends in a retryable error for the queue.
    sb.set_faults(NetSuiteFaults {
        throttle_rate: 1.0,
        ..NetSuiteFaults::default()
    });
    let err = ns.get_record("customer", &customer).await.unwrap_err();
    assert!(
        matches!(err, NetSuiteError::ConcurrencyLimit { .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

async fn parallel_reads(
    ns: &NetSuiteClient,
    id: &str,
    n: usize,
) -> Vec<Result<Value, NetSuiteError>> {
    let calls = (0..n).map(|_| {
        let ns = ns.clone();
        let id = id.to_string();
        async move { ns.get_record("customer", &id).await }
    });
    futures::future::join_all(calls).await
}

#[tokio::test]
async fn client_concurrency_at_the_account_limit_never_trips_429() {
    let sb = sandbox(NetSuiteSandboxConfig {
        concurrency_limit: 2,
        latency: Duration::from_millis(50),
        ..NetSuiteSandboxConfig::default()
    })
    .await;
    let customer = sb.add_customer(None, "Shop");
    let ns = client(&sb, SandboxAuthMode::OAuth2, 2);
    for r in parallel_reads(&ns, &customer, 10).await {
        r.unwrap();
    }
    assert!(sb.peak_concurrency() <= 2);
    assert_eq!(
        sb.peak_concurrency(),
        2,
        "the limit is used, not just respected"
    );
    assert_eq!(sb.throttled(), 0);
    assert_eq!(ns.in_flight(), 0);
}

#[tokio::test]
async fn client_allowed_more_than_the_account_gets_429s_and_still_finishes() {
    let sb = sandbox(NetSuiteSandboxConfig {
        concurrency_limit: 2,
        latency: Duration::from_millis(50),
        ..NetSuiteSandboxConfig::default()
    })
    .await;
    let customer = sb.add_customer(None, "Shop");
    let ns = client(&sb, SandboxAuthMode::Tba, 10);
    let results = parallel_reads(&ns, &customer, 10).await;
    assert!(sb.throttled() > 0);
    assert!(sb.peak_concurrency() <= 2);
    // Most calls get through on jittered retries; any that run out of tries hand the queue
    // a retryable error rather than a permanent one.
    for r in &results {
        if let Err(e) = r {
            assert!(matches!(e, NetSuiteError::ConcurrencyLimit { .. }), "{e:?}");
            assert!(e.is_retryable());
        }
    }
    assert!(results.iter().filter(|r| r.is_ok()).count() >= 5);
}

#[tokio::test]
async fn an_unknown_item_is_a_permanent_invalid_content_error() {
    let sb = sandbox(NetSuiteSandboxConfig::default()).await;
    let customer = sb.add_customer(None, "Shop");
    let good = sb.add_item("SKU-1");
    let ns = client(&sb, SandboxAuthMode::OAuth2, 2);
    let err = ns
        .upsert(
            "salesOrder",
            "tiktok-order:1",
            &order("tiktok-order:1", &customer, &[&good, "9999"]),
            &["item"],
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        NetSuiteError::InvalidContent {
            path: Some("item.items[1].item".into()),
            detail: "Error while accessing resource: You have entered an Invalid Field Value 9999 for the following field: item".into(),
        }
    );
    assert!(!err.is_retryable());
    assert!(sb.sales_orders().is_empty());

    sb.set_faults(NetSuiteFaults {
        failing_item_ids: vec![good.clone()],
        ..NetSuiteFaults::default()
    });
    let err = ns
        .upsert(
            "salesOrder",
            "tiktok-order:2",
            &order("tiktok-order:2", &customer, &[&good]),
            &["item"],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NetSuiteError::InvalidContent { path: Some(p), .. } if p == "item.items[0].item")
    );

    let err = ns
        .upsert(
            "salesOrder",
            "tiktok-order:3",
            &order("tiktok-order:3", "424242", &[&good]),
            &["item"],
        )
        .await
        .unwrap_err();
    assert!(matches!(&err, NetSuiteError::InvalidContent { path: Some(p), .. } if p == "entity"));
}

#[tokio::test]
async fn outages_and_server_errors_are_retryable() {
    let sb = sandbox(NetSuiteSandboxConfig::default()).await;
    let customer = sb.add_customer(None, "Shop");
    let ns = client(&sb, SandboxAuthMode::Tba, 2);
    sb.set_faults(NetSuiteFaults {
        outage: true,
        for_ms: Some(60_000),
        ..NetSuiteFaults::default()
    });
    let err = ns.get_record("customer", &customer).await.unwrap_err();
    assert!(
        matches!(err, NetSuiteError::Server { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());

    sb.set_faults(NetSuiteFaults {
        server_error_next: 1,
        ..NetSuiteFaults::default()
    });
    let err = ns.get_record("customer", &customer).await.unwrap_err();
    assert!(
        matches!(
            &err,
            NetSuiteError::Server {
                status: 500,
                error_id: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
    ns.get_record("customer", &customer).await.unwrap();

    sb.clear_faults();
    let err = ns.get_record("customer", "999999").await.unwrap_err();
    assert!(matches!(err, NetSuiteError::NotFound { .. }));
}

#[tokio::test]
async fn post_create_refuses_a_duplicate_external_id() {
    let sb = sandbox(NetSuiteSandboxConfig::default()).await;
    let http = reqwest::Client::new();
    let cfg = sb.config().clone();
    let url = url::Url::parse(&format!("{}/record/v1/customer", sb.rest_base())).unwrap();
    let creds = tba::TbaCredentials {
        consumer_key: &cfg.consumer_key,
        consumer_secret: &cfg.consumer_secret,
        token_id: &cfg.token_id,
        token_secret: &cfg.token_secret,
    };
    let now = bridge::netsuite::oauth2::unix_now() as u64;
    let mut statuses = Vec::new();
    for nonce in ["create-nonce-1", "create-nonce-2"] {
        let params = tba::TbaRequestParams {
            realm: "SANDBOX1",
            nonce,
            timestamp: now,
        };
        let resp = http
            .post(url.clone())
            .header(
                "Authorization",
                tba::authorization_header("POST", &url, &creds, &params),
            )
            .json(&json!({"externalId": "dup-1", "companyName": "Dup"}))
            .send()
            .await
            .unwrap();
        if resp.status() == 204 {
            let location = resp.headers()["location"].to_str().unwrap().to_string();
            assert!(location.starts_with(&format!("{}/record/v1/customer/", sb.rest_base())));
        }
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, vec![204, 400]);
    assert_eq!(sb.customers().len(), 1);
}

#[tokio::test]
async fn control_api_seeds_items_sets_faults_and_reports_stats() {
    let (sb, base) = start(NetSuiteSandboxConfig::default(), "127.0.0.1:0")
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{base}/_sandbox/netsuite/items"))
        .json(&json!({"skus": ["A", "B"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let items: Value = http
        .get(format!("{base}/_sandbox/netsuite/items"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(items.as_array().unwrap().len(), 2);

    let resp = http
        .post(format!("{base}/_sandbox/netsuite/faults"))
        .json(&json!({"throttle_next": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let ns = client(&sb, SandboxAuthMode::Tba, 1);
    ns.find_items_by_sku("itemid", &["A".into()]).await.unwrap();

    let stats: Value = http
        .get(format!("{base}/_sandbox/netsuite/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["throttled"], json!(1));
    assert_eq!(stats["requests"], json!(2));
    assert_eq!(stats["requests_by"]["POST suiteql"], json!(2));

    let resp = http
        .delete(format!("{base}/_sandbox/netsuite/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let so: Value = http
        .get(format!("{base}/_sandbox/netsuite/sales-orders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(so, json!([]));
}
