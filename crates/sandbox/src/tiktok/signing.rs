//! TikTok's request and webhook signatures as the sandbox checks them, written from the
//! API reference (§2.2, §3) and pinned by its test vectors. The bridge signs with its own
//! code; this file must never share it, so a mistake on either side shows as a 106001.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Query parameters TikTok leaves out of the string to sign.
const NOT_SIGNED: [&str; 2] = ["sign", "access_token"];

fn hmac_hex(key: &str, message: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// The `sign` TikTok expects for a request: `path`, then every signed query parameter as
/// `key value` sorted by key, then the body, all wrapped in the app secret.
pub fn expected_sign(
    app_secret: &str,
    path: &str,
    query: &[(String, String)],
    body: &[u8],
) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .iter()
        .filter(|(k, _)| !NOT_SIGNED.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.sort();
    let mut text: Vec<u8> = Vec::with_capacity(body.len() + 256);
    text.extend_from_slice(app_secret.as_bytes());
    text.extend_from_slice(path.as_bytes());
    for (k, v) in pairs {
        text.extend_from_slice(k.as_bytes());
        text.extend_from_slice(v.as_bytes());
    }
    text.extend_from_slice(body);
    text.extend_from_slice(app_secret.as_bytes());
    hmac_hex(app_secret, &text)
}

/// The `Authorization` header of a webhook TikTok delivers: lowercase hex
/// HMAC-SHA256(app_secret, app_key ‖ raw body).
pub fn webhook_authorization(app_key: &str, app_secret: &str, body: &[u8]) -> String {
    let mut message = Vec::with_capacity(app_key.len() + body.len());
    message.extend_from_slice(app_key.as_bytes());
    message.extend_from_slice(body);
    hmac_hex(app_secret, &message)
}

/// Whether TikTok wants `shop_cipher` on a call (reference §3): not on authorization,
/// seller, product compliance / global products / uploads, nor on POST brands.
pub fn shop_cipher_required(method: &str, path: &str) -> bool {
    let mut parts = path.trim_matches('/').split('/');
    match parts.next() {
        Some("authorization") | Some("seller") => false,
        Some("product") => {
            let _version = parts.next();
            let rest: Vec<&str> = parts.collect();
            let shop_free = matches!(
                rest.as_slice(),
                ["compliance", ..]
                    | ["global_products", ..]
                    | ["files", "upload"]
                    | ["images", "upload"]
            ) || (rest.as_slice() == ["brands"]
                && method.eq_ignore_ascii_case("POST"));
            !shop_free
        }
        _ => true,
    }
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

    #[test]
    fn official_vector() {
        let query = q(&[("app_key", "29a39d"), ("timestamp", "1623812664")]);
        assert_eq!(
            expected_sign("e59af819cc", "/authorization/202309/shops", &query, b""),
            "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
        );
    }

    #[test]
    fn sdk_vector() {
        assert_eq!(
            expected_sign("app_secret", "/test-api", &q(&[("foo", "bar")]), b""),
            "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f"
        );
    }

    #[test]
    fn derived_vectors_with_body_and_lists() {
        let query = q(&[
            ("timestamp", "1696909648"),
            ("shop_cipher", "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK"),
            ("app_key", "68xu9ks5p4i8"),
            ("sign", "ignored"),
            ("access_token", "ignored"),
        ]);
        let body = br#"{"address":"https://partner.tiktokshop.com","event_type":"PACKAGE_UPDATE"}"#;
        assert_eq!(
            expected_sign("e59af819cc", "/event/202309/webhooks", &query, body),
            "cd0d6268252f4ba293bf7ea4c0a2873bf9beec600d22530638564ab301435f7a"
        );
        let query = q(&[
            ("app_key", "29a39d"),
            ("ids", "576486316948490001,576486316948490002"),
            ("shop_cipher", "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK"),
            ("timestamp", "1623812664"),
        ]);
        assert_eq!(
            expected_sign("e59af819cc", "/order/202309/orders", &query, b""),
            "f94781b1337a39ee112db8d1d4ed06b28a37caffa6690d9dc0c527c372705713"
        );
    }

    #[test]
    fn webhook_vector() {
        let body = br#"{"type":1,"shop_id":"7494726673780148744","timestamp":1664095733,"data":{"order_id":"576684019603311365","order_status":"AWAITING_SHIPMENT","update_time":1664095610}}"#;
        assert_eq!(
            webhook_authorization("fake_app_key", "fake_app_secret", body),
            "21109834de72ec53c9959716d8514ae388ce1f123e5ffdcafc46713fcdf62b27"
        );
    }

    #[test]
    fn cipher_rules() {
        assert!(!shop_cipher_required("GET", "/authorization/202309/shops"));
        assert!(!shop_cipher_required("GET", "/seller/202309/shops"));
        assert!(!shop_cipher_required(
            "POST",
            "/product/202309/images/upload"
        ));
        assert!(!shop_cipher_required("POST", "/product/202309/brands"));
        assert!(shop_cipher_required("GET", "/product/202309/brands"));
        assert!(shop_cipher_required("GET", "/order/202309/orders"));
        assert!(shop_cipher_required(
            "POST",
            "/product/202309/products/1/inventory/update"
        ));
    }
}
