//! TikTok Shop signatures: the `sign` query parameter of every Open API call (reference §3)
//! and the `Authorization` header of webhooks (reference §2.2). Pure functions, no I/O, so
//! the client, the ingress and the sandbox all sign and verify with the same code.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Query parameters that never take part in the signature.
const UNSIGNED_PARAMS: [&str; 2] = ["sign", "access_token"];

fn keyed(secret: &str) -> HmacSha256 {
    match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC pads or hashes keys of any length, so construction cannot fail.
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

/// `sign` for an Open API call: lowercase hex HMAC-SHA256(app_secret,
/// app_secret ‖ path ‖ sorted `{key}{value}` ‖ body ‖ app_secret).
///
/// `body` must be the exact bytes sent (empty for GET and for multipart uploads).
pub fn api_sign(app_secret: &str, path: &str, query: &[(String, String)], body: &[u8]) -> String {
    let mut params: Vec<&(String, String)> = query
        .iter()
        .filter(|(k, _)| !UNSIGNED_PARAMS.contains(&k.as_str()))
        .collect();
    // `str` ordering is byte-wise, which is what TikTok sorts by.
    params.sort_by(|a, b| a.0.cmp(&b.0));

    let mut mac = keyed(app_secret);
    mac.update(app_secret.as_bytes());
    mac.update(path.as_bytes());
    for (k, v) in params {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    mac.update(body);
    mac.update(app_secret.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn webhook_mac(app_key: &str, app_secret: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = keyed(app_secret);
    mac.update(app_key.as_bytes());
    mac.update(body);
    mac
}

/// The `Authorization` header TikTok puts on a webhook: lowercase hex
/// HMAC-SHA256(app_secret, app_key ‖ raw body).
pub fn webhook_signature(app_key: &str, app_secret: &str, body: &[u8]) -> String {
    hex::encode(
        webhook_mac(app_key, app_secret, body)
            .finalize()
            .into_bytes(),
    )
}

/// Checks a webhook `Authorization` header against the raw body, in constant time.
///
/// Only the exact form TikTok sends is accepted: 64 lowercase hex digits, nothing around
/// them. Anything else (uppercase, a `Bearer ` prefix, whitespace) is a forgery or a
/// misconfigured proxy and is rejected rather than normalised.
pub fn verify_webhook(app_key: &str, app_secret: &str, body: &[u8], authorization: &str) -> bool {
    let well_formed = authorization.len() == 64
        && authorization
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !well_formed {
        return false;
    }
    let Ok(tag) = hex::decode(authorization) else {
        return false;
    };
    webhook_mac(app_key, app_secret, body)
        .verify_slice(&tag)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const WEBHOOK_BODY: &str = r#"{"type":1,"shop_id":"7494726673780148744","timestamp":1664095733,"data":{"order_id":"576684019603311365","order_status":"AWAITING_SHIPMENT","update_time":1664095610}}"#;
    const WEBHOOK_SIG: &str = "21109834de72ec53c9959716d8514ae388ce1f123e5ffdcafc46713fcdf62b27";

    #[test]
    fn official_vector_signs_authorization_shops() {
        let sign = api_sign(
            "e59af819cc",
            "/authorization/202309/shops",
            &q(&[("timestamp", "1623812664"), ("app_key", "29a39d")]),
            b"",
        );
        assert_eq!(
            sign,
            "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
        );
    }

    #[test]
    fn sdk_vector_signs_test_api() {
        let sign = api_sign("app_secret", "/test-api", &q(&[("foo", "bar")]), b"");
        assert_eq!(
            sign,
            "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f"
        );
    }

    #[test]
    fn derived_vector_signs_post_body() {
        let sign = api_sign(
            "e59af819cc",
            "/event/202309/webhooks",
            &q(&[
                ("timestamp", "1696909648"),
                ("shop_cipher", "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK"),
                ("app_key", "68xu9ks5p4i8"),
            ]),
            br#"{"address":"https://partner.tiktokshop.com","event_type":"PACKAGE_UPDATE"}"#,
        );
        assert_eq!(
            sign,
            "cd0d6268252f4ba293bf7ea4c0a2873bf9beec600d22530638564ab301435f7a"
        );
    }

    #[test]
    fn derived_vector_signs_comma_joined_ids() {
        let sign = api_sign(
            "e59af819cc",
            "/order/202309/orders",
            &q(&[
                ("shop_cipher", "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK"),
                ("ids", "576486316948490001,576486316948490002"),
                ("timestamp", "1623812664"),
                ("app_key", "29a39d"),
            ]),
            b"",
        );
        assert_eq!(
            sign,
            "f94781b1337a39ee112db8d1d4ed06b28a37caffa6690d9dc0c527c372705713"
        );
    }

    #[test]
    fn sign_and_access_token_params_are_not_signed() {
        let base = q(&[("app_key", "29a39d"), ("timestamp", "1623812664")]);
        let mut with_extras = base.clone();
        with_extras.push(("sign".into(), "whatever".into()));
        with_extras.push(("access_token".into(), "tok".into()));
        assert_eq!(
            api_sign("e59af819cc", "/authorization/202309/shops", &base, b""),
            api_sign(
                "e59af819cc",
                "/authorization/202309/shops",
                &with_extras,
                b""
            )
        );
    }

    #[test]
    fn sign_changes_with_any_body_byte() {
        let query = q(&[("app_key", "k"), ("timestamp", "1")]);
        assert_ne!(
            api_sign("s", "/p", &query, br#"{"a":1}"#),
            api_sign("s", "/p", &query, br#"{"a": 1}"#)
        );
    }

    #[test]
    fn webhook_vector_matches() {
        assert_eq!(
            webhook_signature("fake_app_key", "fake_app_secret", WEBHOOK_BODY.as_bytes()),
            WEBHOOK_SIG
        );
        assert!(verify_webhook(
            "fake_app_key",
            "fake_app_secret",
            WEBHOOK_BODY.as_bytes(),
            WEBHOOK_SIG
        ));
    }

    #[test]
    fn webhook_rejects_uppercase_hex() {
        assert!(!verify_webhook(
            "fake_app_key",
            "fake_app_secret",
            WEBHOOK_BODY.as_bytes(),
            &WEBHOOK_SIG.to_uppercase()
        ));
    }

    #[test]
    fn webhook_rejects_bearer_prefix() {
        assert!(!verify_webhook(
            "fake_app_key",
            "fake_app_secret",
            WEBHOOK_BODY.as_bytes(),
            &format!("Bearer {WEBHOOK_SIG}")
        ));
    }

    #[test]
    fn webhook_rejects_wrong_length() {
        for bad in [&WEBHOOK_SIG[..62], &format!("{WEBHOOK_SIG}00"), ""] {
            assert!(!verify_webhook(
                "fake_app_key",
                "fake_app_secret",
                WEBHOOK_BODY.as_bytes(),
                bad
            ));
        }
    }

    #[test]
    fn webhook_rejects_every_single_changed_body_byte() {
        let body = WEBHOOK_BODY.as_bytes();
        for i in 0..body.len() {
            let mut changed = body.to_vec();
            changed[i] ^= 0x01;
            assert!(
                !verify_webhook("fake_app_key", "fake_app_secret", &changed, WEBHOOK_SIG),
                "byte {i} changed but the signature still verified"
            );
        }
    }

    #[test]
    fn webhook_rejects_reserialized_body() {
        let value: serde_json::Value = serde_json::from_str(WEBHOOK_BODY).unwrap();
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        assert!(!verify_webhook(
            "fake_app_key",
            "fake_app_secret",
            &pretty,
            WEBHOOK_SIG
        ));
    }

    #[test]
    fn webhook_rejects_other_app() {
        assert!(!verify_webhook(
            "other_app_key",
            "fake_app_secret",
            WEBHOOK_BODY.as_bytes(),
            WEBHOOK_SIG
        ));
        assert!(!verify_webhook(
            "fake_app_key",
            "other_secret",
            WEBHOOK_BODY.as_bytes(),
            WEBHOOK_SIG
        ));
    }
}
