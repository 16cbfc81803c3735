//! The Open API and token-host side of the sandbox: every signed call passes the same gate
//! (app key, timestamp window, sign, access token, shop cipher, content type, QPS) before
//! its handler runs, and every answer is a `{code, message, request_id, data}` envelope.

use super::fixtures::now_unix;
use super::signing::{expected_sign, shop_cipher_required};
use super::{TikTokSandbox, TokenCheck};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::sync::Arc;

type Sb = Arc<TikTokSandbox>;

const MAX_IDS: usize = 50;
const TIMESTAMP_PAST_SECS: i64 = 300;
const TIMESTAMP_FUTURE_SECS: i64 = 30;
const SIGN_INVALID_MESSAGE: &str = "Invalid credentials. The 'sign' query parameter is invalid. For more details: https://m.tiktok.shop/s/AIu6dbFhs2XW";

pub(super) fn routes() -> Router<Sb> {
    Router::new()
        .route("/api/v2/token/refresh", get(token_refresh))
        .route("/api/v2/token/get", get(token_get))
        .route("/authorization/202309/shops", get(authorized_shops))
        .route("/order/202309/orders", get(get_orders))
        .route("/order/202507/orders", get(get_orders))
        .route("/order/202309/orders/search", post(search_orders))
        .merge(super::fulfillment::routes())
        .merge(super::inventory::routes())
        .merge(super::finance::routes())
        .method_not_allowed_fallback(wrong_method)
}

/// Looks like TikTok's: 14 digits of time, then 20 upper-case hex digits.
fn request_id() -> String {
    format!(
        "{:014}{:020X}",
        now_unix(),
        rand::random::<u128>() & ((1u128 << 80) - 1)
    )
}

pub(super) fn envelope(status: StatusCode, code: i64, message: &str, data: Value) -> Response {
    (
        status,
        axum::Json(json!({
            "code": code,
            "message": message,
            "request_id": request_id(),
            "data": data,
        })),
    )
        .into_response()
}

pub(super) fn success(data: Value) -> Response {
    envelope(StatusCode::OK, 0, "Success", data)
}

pub(super) fn rejected(status: StatusCode, code: i64, message: &str) -> Response {
    envelope(status, code, message, Value::Null)
}

pub(super) fn bad_param(message: &str) -> Response {
    rejected(StatusCode::BAD_REQUEST, 36_009_004, message)
}

fn unauthorized(code: i64, message: &str) -> Response {
    rejected(StatusCode::UNAUTHORIZED, code, message)
}

/// Unknown TikTok-shaped paths (`/{category}/{version}/...`) get TikTok's 36009009; other
/// paths get a bare 404, so the router can be merged with the NetSuite sandbox's.
pub(super) async fn unknown_path(uri: Uri) -> Response {
    let mut segments = uri.path().trim_start_matches('/').split('/');
    let tiktok_shaped = matches!(
        (segments.next(), segments.next()),
        (Some(c), Some(v)) if !c.is_empty() && v.len() == 6 && v.bytes().all(|b| b.is_ascii_digit())
    );
    if !tiktok_shaped {
        return StatusCode::NOT_FOUND.into_response();
    }
    rejected(
        StatusCode::NOT_FOUND,
        36_009_009,
        &format!("Invalid path: {}", uri.path()),
    )
}

async fn wrong_method(method: Method, uri: Uri) -> Response {
    rejected(
        StatusCode::METHOD_NOT_ALLOWED,
        36_009_010,
        &format!("Invalid method {method} for {}", uri.path()),
    )
}

fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

pub(super) fn param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Latency, counting and injected faults: what happens to every call before any check.
async fn arrive(sb: &TikTokSandbox, path: &str) -> Result<(), Response> {
    let latency = sb.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    sb.count_call(path);
    match sb.injected(path) {
        Some(a) => Err(rejected(
            StatusCode::from_u16(a.http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            a.code,
            &a.message,
        )),
        None => Ok(()),
    }
}

/// A request that passed `admit`: every signed Open API route takes this instead of
/// repeating the checks, and gets the parsed query and the raw body.
pub(super) struct Admitted {
    pub query: Vec<(String, String)>,
    pub body: Bytes,
}

impl axum::extract::FromRequest<Sb> for Admitted {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, sb: &Sb) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let body = Bytes::from_request(axum::extract::Request::from_parts(parts.clone(), body), sb)
            .await
            .map_err(IntoResponse::into_response)?;
        let query = admit(sb, &parts.method, &parts.uri, &parts.headers, &body).await?;
        Ok(Admitted { query, body })
    }
}

/// The gate every signed Open API call passes, in the order the real service reports
/// problems: credentials first, then the shop, then the request's form, then the budget.
pub(super) async fn admit(
    sb: &TikTokSandbox,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, Response> {
    let path = uri.path();
    arrive(sb, path).await?;
    let cfg = sb.config();
    let query = query_pairs(uri);

    match param(&query, "app_key") {
        None | Some("") => {
            return Err(unauthorized(
                36_009_004,
                "Invalid app_key. The app_key query parameter is missing",
            ))
        }
        Some(k) if k != cfg.app_key => {
            return Err(unauthorized(
                36_009_004,
                "Invalid app_key. The app_key is not valid",
            ))
        }
        Some(_) => {}
    }

    let now = now_unix();
    match param(&query, "timestamp").map(str::parse::<i64>) {
        Some(Ok(ts)) if (now - TIMESTAMP_PAST_SECS..=now + TIMESTAMP_FUTURE_SECS).contains(&ts) => {
        }
        Some(Ok(_)) => {
            return Err(unauthorized(
                36_009_004,
                "Invalid timestamp. The timestamp is expired or too far in the future",
            ))
        }
        _ => {
            return Err(unauthorized(
                36_009_004,
                "Invalid timestamp. The timestamp query parameter is missing or malformed",
            ))
        }
    }

    let Some(sign) = param(&query, "sign").filter(|s| !s.is_empty()) else {
        return Err(unauthorized(
            36_009_004,
            "Invalid credentials. The 'sign' query parameter is missing",
        ));
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let signed_body: &[u8] = if content_type.starts_with("multipart/form-data") {
        &[]
    } else {
        body
    };
    if expected_sign(&cfg.app_secret, path, &query, signed_body) != sign {
        return Err(unauthorized(106_001, SIGN_INVALID_MESSAGE));
    }

    let token = headers
        .get("x-tts-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if token.is_empty() {
        return Err(unauthorized(
            36_009_004,
            "Invalid credentials. The x-tts-access-token header is missing",
        ));
    }
    match sb.check_access_token(token) {
        TokenCheck::Valid => {}
        TokenCheck::Expired => {
            return Err(unauthorized(
                105_002,
                "Expired credentials. The access token has expired.",
            ))
        }
        TokenCheck::Unknown => {
            return Err(unauthorized(
                36_009_004,
                "Invalid credentials. The access token is invalid.",
            ))
        }
    }

    let cipher = param(&query, "shop_cipher");
    if shop_cipher_required(method.as_str(), path) {
        match cipher {
            None | Some("") => {
                return Err(unauthorized(
                    106_013,
                    "Missing shop_cipher. The shop_cipher query parameter is required",
                ))
            }
            Some(c) if c != cfg.shop_cipher => {
                return Err(unauthorized(
                    101_000,
                    "The access token is not authorized for the shop of this shop_cipher",
                ))
            }
            Some(_) => {}
        }
    } else if cipher.is_some() {
        return Err(bad_param(
            "Unexpected identifier. The shop_cipher query parameter is not required",
        ));
    }

    if *method == Method::POST && !content_type.starts_with("application/json") {
        return Err(bad_param_code(
            36_009_022,
            "Invalid content-type. Expected application/json",
        ));
    }

    if !sb.admit_rate(path) {
        return Err(rejected(
            StatusCode::TOO_MANY_REQUESTS,
            36_009_002,
            "Too many requests. Please retry later.",
        ));
    }
    Ok(query)
}

fn bad_param_code(code: i64, message: &str) -> Response {
    rejected(StatusCode::BAD_REQUEST, code, message)
}

async fn authorized_shops(State(sb): State<Sb>, _: Admitted) -> Response {
    let cfg = sb.config();
    success(json!({
        "shops": [{
            "id": cfg.shop_id,
            "name": "Sandbox Shop",
            "region": "US",
            "seller_type": "LOCAL",
            "cipher": cfg.shop_cipher,
            "code": "USLCSANDBOX",
        }]
    }))
}

/// Buyer contact data is hidden until the order leaves the remorse window (reference §5).
fn as_served(order: &Value) -> Value {
    let mut order = order.clone();
    if matches!(order["status"].as_str(), Some("UNPAID" | "ON_HOLD")) {
        if let Some(addr) = order
            .get_mut("recipient_address")
            .and_then(Value::as_object_mut)
        {
            addr.retain(|k, _| k == "region_code" || k == "postal_code" || k == "district_info");
        }
    }
    order
}

async fn get_orders(State(sb): State<Sb>, Admitted { query, .. }: Admitted) -> Response {
    let ids: Vec<&str> = param(&query, "ids")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() {
        return bad_param("param ids is missing");
    }
    if ids.len() > MAX_IDS {
        return bad_param("param ids exceeds the maximum of 50 order ids");
    }
    let orders: Vec<Value> = sb.with_orders(|all| {
        ids.iter()
            .filter_map(|id| all.get(*id))
            .map(as_served)
            .collect()
    });
    success(json!({ "orders": orders }))
}

fn page_token(field: &str, key: i64, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{field}|{key}|{id}"))
}

fn parse_page_token(token: &str, field: &str) -> Option<(i64, String)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let mut parts = text.splitn(3, '|');
    if parts.next()? != field {
        return None;
    }
    let key = parts.next()?.parse().ok()?;
    Some((key, parts.next()?.to_string()))
}

async fn search_orders(State(sb): State<Sb>, Admitted { query, body }: Admitted) -> Response {
    let page_size = match param(&query, "page_size").map(str::parse::<usize>) {
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        _ => return bad_param("param page_size is required and must be between 1 and 100"),
    };
    let field = param(&query, "sort_field").unwrap_or("create_time");
    if field != "create_time" && field != "update_time" {
        return bad_param("param sort_field must be create_time or update_time");
    }
    let ascending = match param(&query, "sort_order").unwrap_or("DESC") {
        "ASC" => true,
        "DESC" => false,
        _ => return bad_param("param sort_order must be ASC or DESC"),
    };
    let after = match param(&query, "page_token").filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => match parse_page_token(t, field) {
            Some(pos) => Some(pos),
            None => return bad_param("param page_token is invalid"),
        },
    };
    let filters: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return bad_param("body is not a JSON object"),
        }
    };
    let bound = |name: &str| filters.get(name).and_then(Value::as_i64);
    let status = filters.get("order_status").and_then(Value::as_str);
    let window = |o: &Value, name: &str| {
        let t = o[name].as_i64().unwrap_or(0);
        bound(&format!("{name}_ge")).is_none_or(|ge| t >= ge)
            && bound(&format!("{name}_lt")).is_none_or(|lt| t < lt)
    };

    let mut matching: Vec<(i64, String, Value)> = sb.with_orders(|all| {
        all.values()
            .filter(|o| status.is_none_or(|s| o["status"].as_str() == Some(s)))
            .filter(|o| window(o, "create_time") && window(o, "update_time"))
            .map(|o| {
                let key = o[field].as_i64().unwrap_or(0);
                let id = o["id"].as_str().unwrap_or_default().to_string();
                (key, id, as_served(o))
            })
            .collect()
    });
    let order_of = |a: &(i64, String, Value), b: &(i64, String, Value)| {
        let ord = (a.0, &a.1).cmp(&(b.0, &b.1));
        if ascending {
            ord
        } else {
            ord.reverse()
        }
    };
    matching.sort_by(order_of);
    let total_count = matching.len();
    // Keyset paging: a page token names the last order served, so inserts between pages
    // neither repeat nor skip orders.
    let start = match &after {
        None => 0,
        Some((key, id)) => matching
            .iter()
            .position(|m| {
                let ord = (m.0, &m.1).cmp(&(*key, id));
                if ascending {
                    ord == Ordering::Greater
                } else {
                    ord == Ordering::Less
                }
            })
            .unwrap_or(matching.len()),
    };
    let page: Vec<&(i64, String, Value)> = matching.iter().skip(start).take(page_size).collect();
    let more = start + page.len() < matching.len();
    let next = match page.last() {
        Some((key, id, _)) if more => page_token(field, *key, id),
        _ => String::new(),
    };
    let orders: Vec<&Value> = page.iter().map(|m| &m.2).collect();
    success(json!({
        "orders": orders,
        "next_page_token": next,
        "total_count": total_count,
    }))
}

/// Token-host calls are unsigned; the app proves itself with `app_secret` in the query.
async fn token_gate(
    sb: &TikTokSandbox,
    uri: &Uri,
    grant: &str,
) -> Result<Vec<(String, String)>, Response> {
    arrive(sb, uri.path()).await?;
    let query = query_pairs(uri);
    let cfg = sb.config();
    if param(&query, "app_key") != Some(cfg.app_key.as_str())
        || param(&query, "app_secret") != Some(cfg.app_secret.as_str())
    {
        return Err(unauthorized(36_009_004, "Invalid app_key or app_secret"));
    }
    if param(&query, "grant_type") != Some(grant) {
        return Err(bad_param(&format!("param grant_type must be {grant}")));
    }
    Ok(query)
}

async fn token_refresh(State(sb): State<Sb>, uri: Uri) -> Response {
    let query = match token_gate(&sb, &uri, "refresh_token").await {
        Ok(q) => q,
        Err(r) => return r,
    };
    if !sb.refresh_token_valid(param(&query, "refresh_token").unwrap_or_default()) {
        return unauthorized(
            36_009_004,
            "Invalid refresh_token. The refresh token is invalid or expired",
        );
    }
    success(sb.issue_access_token())
}

async fn token_get(State(sb): State<Sb>, uri: Uri) -> Response {
    let query = match token_gate(&sb, &uri, "authorized_code").await {
        Ok(q) => q,
        Err(r) => return r,
    };
    if !sb.take_auth_code(param(&query, "auth_code").unwrap_or_default()) {
        return unauthorized(
            36_009_004,
            "Invalid auth_code. The code is invalid, expired or already used",
        );
    }
    success(sb.issue_access_token())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_bind_to_the_sort_field() {
        let t = page_token("update_time", 1_700_000_000, "576486316948490001");
        assert_eq!(
            parse_page_token(&t, "update_time"),
            Some((1_700_000_000, "576486316948490001".to_string()))
        );
        assert_eq!(parse_page_token(&t, "create_time"), None);
        assert_eq!(parse_page_token("not-a-token", "update_time"), None);
    }

    #[test]
    fn request_ids_look_like_tiktoks() {
        let id = request_id();
        assert_eq!(id.len(), 34);
        assert!(id[14..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase()));
    }

    #[test]
    fn unpaid_orders_hide_the_address() {
        let order = json!({"status":"UNPAID","recipient_address":{"name":"Jane","postal_code":"90028","region_code":"US"}});
        let served = as_served(&order);
        assert!(served["recipient_address"].get("name").is_none());
        assert_eq!(served["recipient_address"]["postal_code"], "90028");
        let paid = json!({"status":"AWAITING_SHIPMENT","recipient_address":{"name":"Jane"}});
        assert_eq!(as_served(&paid)["recipient_address"]["name"], "Jane");
    }
}
