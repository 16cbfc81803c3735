//! NetSuite callouts: the signed HTTP calls that the SuiteScripts in `deploy/netsuite/` make to
//! `POST /callouts/netsuite`. Pure functions only (no I/O, no clock): the ingress passes the
//! headers, the raw body and `now`.
//!
//! # The contract (also in `deploy/netsuite/README.md`)
//!
//! Signing follows Standard Webhooks:
//!
//! - `webhook-id`: unique per callout and reused on every retry of that callout, so the bridge
//!   dedupes on it. The scripts send `ns_<record type>_<internal id>_<event>_<base36 ms><random>`,
//!   e.g. `ns_itemfulfillment_4321_shipped_loyw3v28x7k2q9`. Accepted: 1 to 256 visible ASCII
//!   characters without `.` (the separator of the signed content).
//! - `webhook-timestamp`: Unix seconds of this attempt (a retry is signed again with a new
//!   timestamp, same id and body). Rejected when more than [`TOLERANCE_SECS`] away from now.
//! - `webhook-signature`: space-separated entries `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`
//!   (standard base64 with padding). The callout is accepted when any entry matches any
//!   configured secret, so a secret can be rotated by configuring the old and the new one.
//!
//! The key is the UTF-8 bytes of the secret, used as is. Not the `whsec_` + base64 form of
//! Standard Webhooks: the scripts never see the secret; `N/crypto.createSecretKey` resolves the
//! API Secret `custsecret_tnb_callout` inside NetSuite with `encoding: UTF_8`, and a
//! `whsec_…` value would have to be stripped and base64-decoded first, which a script cannot do
//! to a secret it cannot read. A value that starts with `whsec_` is therefore not decoded here
//! either: the whole string is the key. Generate it as 32+ random bytes in hex or base64url.
//!
//! The body is a JSON object (ASCII only: the scripts escape anything else as `\uXXXX`):
//!
//! ```json
//! {"type":"item_fulfillment.shipped","occurred_at":"2023-11-14T22:13:20.000Z","account":"1234567_SB1",
//!  "data":{"item_fulfillment_id":"4321","created_from":"1234","ship_status":"C","previous_ship_status":"B","trigger":"edit"}}
//! ```
//!
//! `data` names records, never carries them: handlers re-read NetSuite. Types and their `data`:
//!
//! | `type` | `data` |
//! |---|---|
//! | `item_fulfillment.created` / `.shipped` / `.edited` | `item_fulfillment_id`, `created_from` (the order's internal id), `ship_status` (`A` picked, `B` packed, `C` shipped), `previous_ship_status`, `trigger` |
//! | `inventory.changed` | `record_type` (any stock-moving record: `itemreceipt`, `inventoryadjustment`, `inventorytransfer`, `transferorder`, `salesorder`, `cashsale`, `invoice`, `itemfulfillment`, `assemblybuild`, `assemblyunbuild`, `workorderissue`, `workordercompletion`, `inventorystatuschange`, `inventorycount`), `record_id`, `item_ids`, `location_ids`, `trigger` |
//! | `sales_order.closed` / `.cancelled` | `sales_order_id`, `external_id`, `order_status` (`H` closed, `C` cancelled), `trigger` |
//!
//! `trigger` is the user-event type that fired (`create`, `edit`, `xedit`, `ship`, `pack`,
//! `cancel`, `approve`, `delete`). Ids are strings (numbers are accepted too). Unknown fields are ignored; an unknown
//! `type` parses as [`CalloutEvent::Other`] so the ingress can answer 200 and count it.
//!
//! The shared fixture `tests/fixtures/netsuite-callout.json` pins all of this for both the Rust
//! and the Jest tests.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";
/// Allowed distance between `webhook-timestamp` and now, either way.
pub const TOLERANCE_SECS: i64 = 300;
/// Longest `webhook-id` accepted.
pub const MAX_ID_LEN: usize = 256;
const VERSION: &str = "v1";

pub const ITEM_FULFILLMENT_CREATED: &str = "item_fulfillment.created";
pub const ITEM_FULFILLMENT_SHIPPED: &str = "item_fulfillment.shipped";
pub const ITEM_FULFILLMENT_EDITED: &str = "item_fulfillment.edited";
pub const INVENTORY_CHANGED: &str = "inventory.changed";
pub const SALES_ORDER_CLOSED: &str = "sales_order.closed";
pub const SALES_ORDER_CANCELLED: &str = "sales_order.cancelled";

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalloutError {
    /// A `webhook-*` header is absent, empty or not visible ASCII.
    #[error("missing or unreadable {0} header")]
    MissingHeader(&'static str),
    #[error("webhook-id is longer than {MAX_ID_LEN} characters or has characters other than visible ASCII without '.'")]
    InvalidId,
    #[error("webhook-timestamp is not Unix seconds")]
    BadTimestamp,
    #[error("webhook-timestamp {timestamp} is {skew} s from now (allowed: {TOLERANCE_SECS} s)")]
    OutsideWindow { timestamp: i64, skew: i64 },
    #[error("no webhook-signature entry matches a configured secret")]
    NoMatchingSignature,
    #[error("malformed callout body: {0}")]
    MalformedBody(String),
}

fn content_mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` header value for one callout: `v1,<base64>`.
pub fn sign(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = content_mac(secret, id, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("{VERSION},{}", BASE64.encode(tag))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_graphic() && b != b'.')
}

fn parse_timestamp(ts: &str) -> Result<i64, CalloutError> {
    if ts.is_empty() || ts.len() > 12 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CalloutError::BadTimestamp);
    }
    ts.parse().map_err(|_| CalloutError::BadTimestamp)
}

fn present<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str, CalloutError> {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(CalloutError::MissingHeader(name)),
    }
}

/// Checks one callout. `secrets` are the accepted keys (current and, while rotating, previous);
/// empty ones are skipped, so an unset secret never verifies anything. The header values are
/// passed as received (`None` when absent); `now` is Unix seconds.
///
/// Order: headers present, id well-formed, timestamp parses, timestamp within the window,
/// then the signature (compared in constant time against every `v1` entry).
pub fn verify<S: AsRef<[u8]>>(
    secrets: &[S],
    id: Option<&str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), CalloutError> {
    let id = present(id, HEADER_ID)?;
    let ts_text = present(timestamp, HEADER_TIMESTAMP)?;
    let signature = present(signature, HEADER_SIGNATURE)?;
    if !valid_id(id) {
        return Err(CalloutError::InvalidId);
    }
    let ts = parse_timestamp(ts_text)?;
    let skew = now.saturating_sub(ts).saturating_abs();
    if skew > TOLERANCE_SECS {
        return Err(CalloutError::OutsideWindow {
            timestamp: ts,
            skew,
        });
    }
    let candidates: Vec<Vec<u8>> = signature
        .split_ascii_whitespace()
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == VERSION)
        .filter_map(|(_, b64)| BASE64.decode(b64).ok())
        .collect();
    if candidates.is_empty() {
        return Err(CalloutError::NoMatchingSignature);
    }
    let mut matched = subtle::Choice::from(0u8);
    for secret in secrets.iter().map(AsRef::as_ref).filter(|s| !s.is_empty()) {
        let expected = content_mac(secret, id, ts_text, body)
            .finalize()
            .into_bytes();
        for candidate in &candidates {
            // Lengths are public (32 bytes); the bytes are compared in constant time.
            if candidate.len() == expected.len() {
                matched |= candidate.as_slice().ct_eq(expected.as_slice());
            }
        }
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(CalloutError::NoMatchingSignature)
    }
}

/// [`verify`] reading the three `webhook-*` headers from a request.
pub fn verify_headers<S: AsRef<[u8]>>(
    secrets: &[S],
    headers: &http::HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), CalloutError> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    verify(
        secrets,
        get(HEADER_ID),
        get(HEADER_TIMESTAMP),
        get(HEADER_SIGNATURE),
        body,
        now,
    )
}

/// The `source` label of callouts in metrics and job history.
pub const SOURCE: &str = "netsuite";

/// Splits a configured secret list (e.g. `NETSUITE_CALLOUT_SECRET` during a rotation:
/// `"<new> <old>"`) on whitespace. Secrets themselves therefore hold no whitespace.
pub fn split_secrets(value: &str) -> Vec<&str> {
    value.split_ascii_whitespace().collect()
}

/// A parsed callout body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callout {
    pub event: CalloutEvent,
    /// ISO 8601 time the script saw the change (NetSuite server clock).
    pub occurred_at: String,
    /// `runtime.accountId` of the sending account, e.g. `1234567_SB1`.
    pub account: String,
}

impl Callout {
    /// Whether the callout comes from the configured account: case-insensitive, `-` and `_`
    /// equal (`1234567_SB1` matches `1234567-sb1`).
    pub fn account_matches(&self, configured: &str) -> bool {
        let norm = |s: &str| s.trim().to_ascii_lowercase().replace('-', "_");
        norm(&self.account) == norm(configured)
    }
}

/// The event a callout announces. Open: a type this version does not know is kept as
/// [`CalloutEvent::Other`] with its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalloutEvent {
    ItemFulfillmentCreated(ItemFulfillmentRef),
    ItemFulfillmentShipped(ItemFulfillmentRef),
    ItemFulfillmentEdited(ItemFulfillmentRef),
    InventoryChanged(InventoryChange),
    SalesOrderClosed(SalesOrderRef),
    SalesOrderCancelled(SalesOrderRef),
    Other(String),
}

impl CalloutEvent {
    /// The wire name (`type`).
    pub fn event_type(&self) -> &str {
        match self {
            CalloutEvent::ItemFulfillmentCreated(_) => ITEM_FULFILLMENT_CREATED,
            CalloutEvent::ItemFulfillmentShipped(_) => ITEM_FULFILLMENT_SHIPPED,
            CalloutEvent::ItemFulfillmentEdited(_) => ITEM_FULFILLMENT_EDITED,
            CalloutEvent::InventoryChanged(_) => INVENTORY_CHANGED,
            CalloutEvent::SalesOrderClosed(_) => SALES_ORDER_CLOSED,
            CalloutEvent::SalesOrderCancelled(_) => SALES_ORDER_CANCELLED,
            CalloutEvent::Other(t) => t,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ItemFulfillmentRef {
    #[serde(deserialize_with = "id_string")]
    pub item_fulfillment_id: String,
    /// Internal id of the transaction the fulfillment was created from (a sales order for
    /// TikTok orders; transfer orders and vendor returns have fulfillments too).
    #[serde(default, deserialize_with = "opt_id_string")]
    pub created_from: Option<String>,
    /// `A` picked, `B` packed, `C` shipped (absent when Pick, Pack and Ship is off: the
    /// fulfillment is shipped once saved, and the script sends `item_fulfillment.shipped`).
    #[serde(default)]
    pub ship_status: Option<String>,
    #[serde(default)]
    pub previous_ship_status: Option<String>,
    #[serde(default)]
    pub trigger: Option<String>,
}

impl ItemFulfillmentRef {
    /// Shipped: status `C`, or no status (accounts without Pick, Pack and Ship), as the
    /// script and `ItemFulfillment::is_shipped` read it.
    pub fn is_shipped(&self) -> bool {
        self.ship_status
            .as_deref()
            .is_none_or(|s| s.trim().is_empty() || s == "C")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InventoryChange {
    pub record_type: String,
    #[serde(deserialize_with = "id_string")]
    pub record_id: String,
    #[serde(default, deserialize_with = "id_strings")]
    pub item_ids: Vec<String>,
    #[serde(default, deserialize_with = "id_strings")]
    pub location_ids: Vec<String>,
    #[serde(default)]
    pub trigger: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SalesOrderRef {
    #[serde(deserialize_with = "id_string")]
    pub sales_order_id: String,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub order_status: Option<String>,
    #[serde(default)]
    pub trigger: Option<String>,
}

fn id_value(v: serde_json::Value) -> Result<String, String> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("expected an id string or number, got {other}")),
    }
}

fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    id_value(serde_json::Value::deserialize(d)?).map_err(serde::de::Error::custom)
}

fn opt_id_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if s.is_empty() => Ok(None),
        Some(v) => id_value(v).map(Some).map_err(serde::de::Error::custom),
    }
}

fn id_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Option::<Vec<serde_json::Value>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .map(|v| id_value(v).map_err(serde::de::Error::custom))
        .collect()
}

#[derive(Deserialize)]
struct RawCallout {
    #[serde(rename = "type")]
    event_type: String,
    occurred_at: String,
    account: String,
    #[serde(default)]
    data: serde_json::Value,
}

/// Parses a callout body (after [`verify`]). Known types need their `data` ids; unknown types
/// only need the envelope.
pub fn parse(body: &[u8]) -> Result<Callout, CalloutError> {
    let raw: RawCallout =
        serde_json::from_slice(body).map_err(|e| CalloutError::MalformedBody(e.to_string()))?;
    fn data<T: for<'de> Deserialize<'de>>(
        event_type: &str,
        v: serde_json::Value,
    ) -> Result<T, CalloutError> {
        serde_json::from_value(v)
            .map_err(|e| CalloutError::MalformedBody(format!("{event_type} data: {e}")))
    }
    let t = raw.event_type.as_str();
    let event = match t {
        ITEM_FULFILLMENT_CREATED => CalloutEvent::ItemFulfillmentCreated(data(t, raw.data)?),
        ITEM_FULFILLMENT_SHIPPED => CalloutEvent::ItemFulfillmentShipped(data(t, raw.data)?),
        ITEM_FULFILLMENT_EDITED => CalloutEvent::ItemFulfillmentEdited(data(t, raw.data)?),
        INVENTORY_CHANGED => CalloutEvent::InventoryChanged(data(t, raw.data)?),
        SALES_ORDER_CLOSED => CalloutEvent::SalesOrderClosed(data(t, raw.data)?),
        SALES_ORDER_CANCELLED => CalloutEvent::SalesOrderCancelled(data(t, raw.data)?),
        "" => return Err(CalloutError::MalformedBody("empty type".into())),
        other => CalloutEvent::Other(other.to_string()),
    };
    Ok(Callout {
        event,
        occurred_at: raw.occurred_at,
        account: raw.account,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Fixture {
        secret: String,
        id: String,
        timestamp: i64,
        body: String,
        hmac_hex: String,
        signature: String,
    }

    fn fixture() -> Fixture {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/netsuite-callout.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).expect("shared fixture"))
            .expect("fixture parses")
    }

    fn check(f: &Fixture, sig: &str, secrets: &[&str], now: i64) -> Result<(), CalloutError> {
        let ts = f.timestamp.to_string();
        verify(
            secrets,
            Some(&f.id),
            Some(&ts),
            Some(sig),
            f.body.as_bytes(),
            now,
        )
    }

    #[test]
    fn sign_reproduces_the_shared_fixture() {
        let f = fixture();
        assert_eq!(
            sign(f.secret.as_bytes(), &f.id, f.timestamp, f.body.as_bytes()),
            f.signature
        );
        // The hex digest N/crypto returns is the same 32 bytes.
        let b64 = f.signature.strip_prefix("v1,").unwrap();
        assert_eq!(hex::encode(BASE64.decode(b64).unwrap()), f.hmac_hex);
    }

    #[test]
    fn the_fixture_verifies_and_parses() {
        let f = fixture();
        check(&f, &f.signature, &[&f.secret], f.timestamp).unwrap();
        let c = parse(f.body.as_bytes()).unwrap();
        assert_eq!(
            c.event,
            CalloutEvent::ItemFulfillmentShipped(ItemFulfillmentRef {
                item_fulfillment_id: "4321".into(),
                created_from: Some("1234".into()),
                ship_status: Some("C".into()),
                previous_ship_status: Some("B".into()),
                trigger: Some("edit".into()),
            })
        );
        assert_eq!(c.event.event_type(), ITEM_FULFILLMENT_SHIPPED);
        assert_eq!(c.occurred_at, "2023-11-14T22:13:20.000Z");
        assert!(c.account_matches("1234567_SB1"));
        assert!(c.account_matches("1234567-sb1"));
        assert!(!c.account_matches("1234567"));
    }

    #[test]
    fn window_is_five_minutes_either_way() {
        let f = fixture();
        for now in [f.timestamp - 300, f.timestamp + 300] {
            check(&f, &f.signature, &[&f.secret], now).unwrap();
        }
        for now in [f.timestamp - 301, f.timestamp + 301] {
            assert_eq!(
                check(&f, &f.signature, &[&f.secret], now),
                Err(CalloutError::OutsideWindow {
                    timestamp: f.timestamp,
                    skew: 301
                })
            );
        }
    }

    #[test]
    fn several_entries_and_several_secrets_allow_rotation() {
        let f = fixture();
        let old = "previous-secret-0123456789";
        let old_sig = sign(old.as_bytes(), &f.id, f.timestamp, f.body.as_bytes());
        // Sender signs with both, receiver knows only the new one.
        let both = format!("{old_sig} {}", f.signature);
        check(&f, &both, &[&f.secret], f.timestamp).unwrap();
        // Sender still on the old one, receiver accepts old and new.
        check(&f, &old_sig, &[&f.secret, old], f.timestamp).unwrap();
        // Receiver dropped the old one.
        assert_eq!(
            check(&f, &old_sig, &[&f.secret], f.timestamp),
            Err(CalloutError::NoMatchingSignature)
        );
        // Unknown versions and junk entries are skipped, not fatal.
        let noisy = format!("v2,abc v1,!!notbase64!! v1 {}", f.signature);
        check(&f, &noisy, &[&f.secret], f.timestamp).unwrap();
    }

    #[test]
    fn tampering_is_refused() {
        let f = fixture();
        let ts = f.timestamp.to_string();
        let s = [f.secret.as_str()];
        let body = f.body.replace("4321", "4322");
        assert_eq!(
            verify(
                &s,
                Some(&f.id),
                Some(&ts),
                Some(&f.signature),
                body.as_bytes(),
                f.timestamp
            ),
            Err(CalloutError::NoMatchingSignature)
        );
        let other_id = f.id.replace("4321", "4322");
        assert_eq!(
            verify(
                &s,
                Some(&other_id),
                Some(&ts),
                Some(&f.signature),
                f.body.as_bytes(),
                f.timestamp
            ),
            Err(CalloutError::NoMatchingSignature)
        );
        let other_ts = (f.timestamp + 1).to_string();
        assert_eq!(
            verify(
                &s,
                Some(&f.id),
                Some(&other_ts),
                Some(&f.signature),
                f.body.as_bytes(),
                f.timestamp
            ),
            Err(CalloutError::NoMatchingSignature)
        );
        assert_eq!(
            check(&f, &f.signature, &["wrong-secret"], f.timestamp),
            Err(CalloutError::NoMatchingSignature)
        );
        // An unset secret verifies nothing, not even a signature made with the empty key.
        let empty_key_sig = sign(b"", &f.id, f.timestamp, f.body.as_bytes());
        assert_eq!(
            check(&f, &empty_key_sig, &[""], f.timestamp),
            Err(CalloutError::NoMatchingSignature)
        );
        let none: [&str; 0] = [];
        assert_eq!(
            check(&f, &f.signature, &none, f.timestamp),
            Err(CalloutError::NoMatchingSignature)
        );
        // A hex signature (the old X-Sig convention) is not a v1 entry.
        let hex_sig = format!("v1,{}", f.hmac_hex);
        assert_eq!(
            check(&f, &hex_sig, &[&f.secret], f.timestamp),
            Err(CalloutError::NoMatchingSignature)
        );
    }

    #[test]
    fn header_errors_are_named() {
        let f = fixture();
        let ts = f.timestamp.to_string();
        let s = [f.secret.as_str()];
        let b = f.body.as_bytes();
        let now = f.timestamp;
        let sig = Some(f.signature.as_str());
        assert_eq!(
            verify(&s, None, Some(&ts), sig, b, now),
            Err(CalloutError::MissingHeader(HEADER_ID))
        );
        assert_eq!(
            verify(&s, Some(&f.id), Some(" "), sig, b, now),
            Err(CalloutError::MissingHeader(HEADER_TIMESTAMP))
        );
        assert_eq!(
            verify(&s, Some(&f.id), Some(&ts), None, b, now),
            Err(CalloutError::MissingHeader(HEADER_SIGNATURE))
        );
        for bad in [
            "17e8",
            "-1700000000",
            "1700000000.5",
            "0x10",
            "9999999999999",
        ] {
            assert_eq!(
                verify(&s, Some(&f.id), Some(bad), sig, b, now),
                Err(CalloutError::BadTimestamp),
                "{bad}"
            );
        }
        let long = "a".repeat(MAX_ID_LEN + 1);
        for bad in ["a.b", "a b", "é", long.as_str()] {
            assert_eq!(
                verify(&s, Some(bad), Some(&ts), sig, b, now),
                Err(CalloutError::InvalidId),
                "{bad}"
            );
        }
        assert_eq!(
            verify(&s, Some(&f.id), Some(&ts), Some("v1"), b, now),
            Err(CalloutError::NoMatchingSignature)
        );
    }

    #[test]
    fn verify_headers_reads_the_request() {
        let f = fixture();
        let mut h = http::HeaderMap::new();
        h.insert(HEADER_ID, f.id.parse().unwrap());
        h.insert(HEADER_TIMESTAMP, f.timestamp.to_string().parse().unwrap());
        h.insert(HEADER_SIGNATURE, f.signature.parse().unwrap());
        verify_headers(&[f.secret.as_bytes()], &h, f.body.as_bytes(), f.timestamp).unwrap();
        h.remove(HEADER_SIGNATURE);
        assert_eq!(
            verify_headers(&[f.secret.as_bytes()], &h, f.body.as_bytes(), f.timestamp),
            Err(CalloutError::MissingHeader(HEADER_SIGNATURE))
        );
    }

    #[test]
    fn secret_lists_split_on_whitespace() {
        assert_eq!(split_secrets(" new\told  "), vec!["new", "old"]);
        assert!(split_secrets("").is_empty());
    }

    #[test]
    fn every_event_type_parses() {
        let p = |s: &str| parse(s.as_bytes()).map(|c| c.event);
        let env = |t: &str, d: &str| {
            format!(
                r#"{{"type":"{t}","occurred_at":"2024-01-01T00:00:00.000Z","account":"1234567","data":{d}}}"#
            )
        };
        let fr = ItemFulfillmentRef {
            item_fulfillment_id: "10".into(),
            created_from: Some("7".into()),
            ship_status: Some("A".into()),
            previous_ship_status: None,
            trigger: Some("create".into()),
        };
        let d = r#"{"item_fulfillment_id":"10","created_from":"7","ship_status":"A","previous_ship_status":null,"trigger":"create"}"#;
        assert_eq!(
            p(&env(ITEM_FULFILLMENT_CREATED, d)).unwrap(),
            CalloutEvent::ItemFulfillmentCreated(fr.clone())
        );
        assert_eq!(
            p(&env(ITEM_FULFILLMENT_EDITED, d)).unwrap(),
            CalloutEvent::ItemFulfillmentEdited(fr)
        );
        // Numbers for ids, missing optional fields.
        assert_eq!(
            p(&env(
                ITEM_FULFILLMENT_SHIPPED,
                r#"{"item_fulfillment_id":10}"#
            ))
            .unwrap(),
            CalloutEvent::ItemFulfillmentShipped(ItemFulfillmentRef {
                item_fulfillment_id: "10".into(),
                created_from: None,
                ship_status: None,
                previous_ship_status: None,
                trigger: None,
            })
        );
        assert_eq!(
            p(&env(
                INVENTORY_CHANGED,
                r#"{"record_type":"inventorytransfer","record_id":"55","item_ids":["501",502],"location_ids":["1","3"],"trigger":"create","extra":true}"#
            ))
            .unwrap(),
            CalloutEvent::InventoryChanged(InventoryChange {
                record_type: "inventorytransfer".into(),
                record_id: "55".into(),
                item_ids: vec!["501".into(), "502".into()],
                location_ids: vec!["1".into(), "3".into()],
                trigger: Some("create".into()),
            })
        );
        let so = SalesOrderRef {
            sales_order_id: "1234".into(),
            external_id: Some("tiktok-order:576486316948490001".into()),
            order_status: Some("H".into()),
            trigger: Some("edit".into()),
        };
        let d = r#"{"sales_order_id":"1234","external_id":"tiktok-order:576486316948490001","order_status":"H","trigger":"edit"}"#;
        assert_eq!(
            p(&env(SALES_ORDER_CLOSED, d)).unwrap(),
            CalloutEvent::SalesOrderClosed(so.clone())
        );
        assert_eq!(
            p(&env(SALES_ORDER_CANCELLED, d)).unwrap(),
            CalloutEvent::SalesOrderCancelled(so)
        );
        let other = p(&env("item.changed", r#"{"item_id":"9"}"#)).unwrap();
        assert_eq!(other, CalloutEvent::Other("item.changed".into()));
        assert_eq!(other.event_type(), "item.changed");
    }

    #[test]
    fn malformed_bodies_are_refused() {
        for body in [
            "not json",
            r#"{"occurred_at":"x","account":"1","data":{}}"#,
            r#"{"type":"","occurred_at":"x","account":"1","data":{}}"#,
            r#"{"type":"item_fulfillment.shipped","occurred_at":"x","data":{"item_fulfillment_id":"1"}}"#,
            r#"{"type":"item_fulfillment.shipped","occurred_at":"x","account":"1","data":{}}"#,
            r#"{"type":"item_fulfillment.shipped","occurred_at":"x","account":"1","data":{"item_fulfillment_id":""}}"#,
            r#"{"type":"inventory.changed","occurred_at":"x","account":"1","data":{"record_type":"itemreceipt","record_id":"1","item_ids":[{"id":1}]}}"#,
            r#"{"type":"sales_order.closed","occurred_at":"x","account":"1","data":{"sales_order_id":true}}"#,
        ] {
            assert!(
                matches!(parse(body.as_bytes()), Err(CalloutError::MalformedBody(_))),
                "{body}"
            );
        }
    }
}
