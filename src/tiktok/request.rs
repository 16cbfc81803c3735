//! Building a signed Open API request from values only (no clock, no I/O), so the exact
//! query and bytes the client sends can be checked against the reference vectors.

use super::sign::api_sign;
use http::Method;

/// App-level credentials and the shop a request is for.
#[derive(Clone, Copy)]
pub struct Signer<'a> {
    pub app_key: &'a str,
    pub app_secret: &'a str,
    pub shop_cipher: &'a str,
}

/// A request ready to send: `query` already holds `app_key`, `timestamp`, `shop_cipher`
/// (where allowed) and `sign`; `body` holds the very bytes that were signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl SignedRequest {
    /// The full URL on `base` (scheme and host, optionally a path prefix).
    pub fn url(&self, base: &str) -> Result<url::Url, url::ParseError> {
        let mut url = url::Url::parse(&format!("{}{}", base.trim_end_matches('/'), self.path))?;
        url.query_pairs_mut().extend_pairs(self.query.iter());
        Ok(url)
    }
}

/// Whether TikTok expects `shop_cipher` on this path. Shop-independent APIs answer
/// 36009004 "The shop_cipher query parameter is not required" when it is present.
pub fn needs_shop_cipher(method: &Method, path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["authorization", ..] | ["seller", ..] => false,
        ["product", _version, rest @ ..] => match rest {
            ["compliance", ..] | ["global_products", ..] => false,
            ["files", "upload"] | ["images", "upload"] => false,
            ["brands"] => method != Method::POST,
            _ => true,
        },
        _ => true,
    }
}

/// Arrays travel comma-joined, in the query and in the signature alike.
pub fn join_list(values: &[String]) -> String {
    values.join(",")
}

/// Adds the common parameters and the signature. Empty-valued `params` are dropped: TikTok
/// rejects them, and a dropped parameter must not be signed either.
pub fn sign_request(
    signer: Signer<'_>,
    method: Method,
    path: &str,
    params: &[(String, String)],
    body: Option<Vec<u8>>,
    timestamp: i64,
) -> SignedRequest {
    let mut query: Vec<(String, String)> = Vec::with_capacity(params.len() + 4);
    query.push(("app_key".into(), signer.app_key.to_string()));
    query.push(("timestamp".into(), timestamp.to_string()));
    if needs_shop_cipher(&method, path) && !signer.shop_cipher.is_empty() {
        query.push(("shop_cipher".into(), signer.shop_cipher.to_string()));
    }
    query.extend(params.iter().filter(|(_, v)| !v.is_empty()).cloned());
    let sign = api_sign(
        signer.app_secret,
        path,
        &query,
        body.as_deref().unwrap_or_default(),
    );
    query.push(("sign".into(), sign));
    SignedRequest {
        method,
        path: path.to_string(),
        query,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    fn sign_of(req: &SignedRequest) -> &str {
        req.query
            .iter()
            .find(|(k, _)| k == "sign")
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    #[test]
    fn get_orders_request_matches_derived_vector() {
        let signer = Signer {
            app_key: "29a39d",
            app_secret: "e59af819cc",
            shop_cipher: "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK",
        };
        let ids = vec![
            "576486316948490001".to_string(),
            "576486316948490002".to_string(),
        ];
        let req = sign_request(
            signer,
            Method::GET,
            "/order/202309/orders",
            &[param("ids", &join_list(&ids))],
            None,
            1623812664,
        );
        assert_eq!(
            sign_of(&req),
            "f94781b1337a39ee112db8d1d4ed06b28a37caffa6690d9dc0c527c372705713"
        );
        let url = req.url("https://open-api.tiktokglobalshop.com").unwrap();
        assert_eq!(url.path(), "/order/202309/orders");
        let ids_sent: Vec<_> = url.query_pairs().filter(|(k, _)| k == "ids").collect();
        assert_eq!(ids_sent[0].1, "576486316948490001,576486316948490002");
    }

    #[test]
    fn post_request_signs_the_bytes_it_carries() {
        let signer = Signer {
            app_key: "68xu9ks5p4i8",
            app_secret: "e59af819cc",
            shop_cipher: "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK",
        };
        let body = br#"{"address":"https://partner.tiktokshop.com","event_type":"PACKAGE_UPDATE"}"#
            .to_vec();
        let req = sign_request(
            signer,
            Method::POST,
            "/event/202309/webhooks",
            &[],
            Some(body.clone()),
            1696909648,
        );
        assert_eq!(
            sign_of(&req),
            "cd0d6268252f4ba293bf7ea4c0a2873bf9beec600d22530638564ab301435f7a"
        );
        assert_eq!(req.body, Some(body));
    }

    #[test]
    fn authorization_request_has_no_shop_cipher_and_matches_official_vector() {
        let signer = Signer {
            app_key: "29a39d",
            app_secret: "e59af819cc",
            shop_cipher: "ROW_x",
        };
        let req = sign_request(
            signer,
            Method::GET,
            "/authorization/202309/shops",
            &[],
            None,
            1623812664,
        );
        assert!(req.query.iter().all(|(k, _)| k != "shop_cipher"));
        assert_eq!(
            sign_of(&req),
            "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
        );
    }

    #[test]
    fn empty_params_are_neither_sent_nor_signed() {
        let signer = Signer {
            app_key: "29a39d",
            app_secret: "e59af819cc",
            shop_cipher: "",
        };
        let with_empty = sign_request(
            signer,
            Method::GET,
            "/authorization/202309/shops",
            &[param("page_token", "")],
            None,
            1623812664,
        );
        assert!(with_empty.query.iter().all(|(k, _)| k != "page_token"));
        assert_eq!(
            sign_of(&with_empty),
            "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
        );
    }

    #[test]
    fn shop_cipher_exemptions_follow_the_reference() {
        let exempt = [
            (Method::GET, "/authorization/202309/shops"),
            (Method::GET, "/seller/202309/shops"),
            (Method::GET, "/product/202309/compliance/manufacturers"),
            (Method::POST, "/product/202309/global_products/search"),
            (Method::POST, "/product/202309/files/upload"),
            (Method::POST, "/product/202309/images/upload"),
            (Method::POST, "/product/202309/brands"),
        ];
        for (m, p) in exempt {
            assert!(!needs_shop_cipher(&m, p), "{m} {p}");
        }
        let required = [
            (Method::GET, "/order/202309/orders"),
            (Method::POST, "/order/202309/orders/search"),
            (Method::GET, "/product/202309/brands"),
            (Method::POST, "/product/202309/products/1/inventory/update"),
        ];
        for (m, p) in required {
            assert!(needs_shop_cipher(&m, p), "{m} {p}");
        }
    }
}
