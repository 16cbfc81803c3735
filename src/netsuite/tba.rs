//! NetSuite token-based authentication: OAuth 1.0a with HMAC-SHA256 (reference §8.2).
//! Pure functions only, so the signing rules are pinned by the reference test vectors and
//! the sandbox can rebuild the same base string from what arrived on the wire.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;
use url::Url;

pub const SIGNATURE_METHOD: &str = "HMAC-SHA256";
pub const OAUTH_VERSION: &str = "1.0";

/// RFC 3986: everything but ALPHA / DIGIT / `-` `.` `_` `~` is escaped, hex upper-case.
const OAUTH_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The four TBA secrets of one integration + token.
#[derive(Clone, Copy)]
pub struct TbaCredentials<'a> {
    pub consumer_key: &'a str,
    pub consumer_secret: &'a str,
    pub token_id: &'a str,
    pub token_secret: &'a str,
}

/// What varies per request.
#[derive(Debug, Clone, Copy)]
pub struct TbaRequestParams<'a> {
    pub realm: &'a str,
    pub nonce: &'a str,
    pub timestamp: u64,
}

/// OAuth 1.0a percent-encoding (UTF-8, unreserved kept, space as `%20`).
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, OAUTH_ENCODE).to_string()
}

/// Realm NetSuite expects: the account id upper-cased with `_` (`1234567-sb1` → `1234567_SB1`).
pub fn realm(account_id: &str) -> String {
    account_id.trim().to_ascii_uppercase().replace('-', "_")
}

/// Host label of an account: lower-cased with `-` (`1234567_SB1` → `1234567-sb1`).
pub fn host_label(account_id: &str) -> String {
    account_id.trim().to_ascii_lowercase().replace('_', "-")
}

/// `https://{host}.suitetalk.api.netsuite.com/services/rest` for an account id.
pub fn default_rest_base(account_id: &str) -> String {
    format!(
        "https://{}.suitetalk.api.netsuite.com/services/rest",
        host_label(account_id)
    )
}

/// The base-string URL: scheme and host lower-case, explicit port only when non-default,
/// no query or fragment. `Url` already lower-cases scheme and host and drops default ports.
pub fn base_string_uri(url: &Url) -> String {
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        out.push(':');
        out.push_str(&port.to_string());
    }
    out.push_str(url.path());
    out
}

/// Signature base string from the method, the request URL (its query pairs are signed) and
/// the protocol parameters other than `realm` and `oauth_signature`.
pub fn signature_base_string(method: &str, url: &Url, oauth_params: &[(&str, &str)]) -> String {
    let mut params: Vec<(String, String)> = oauth_params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    params.extend(
        url.query_pairs()
            .map(|(k, v)| (percent_encode(&k), percent_encode(&v))),
    );
    params.sort();
    let joined = params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode(&base_string_uri(url)),
        percent_encode(&joined)
    )
}

/// base64(HMAC-SHA256(`enc(consumer_secret)&enc(token_secret)`, text)).
pub fn sign(text: &str, consumer_secret: &str, token_secret: &str) -> String {
    let key = format!(
        "{}&{}",
        percent_encode(consumer_secret),
        percent_encode(token_secret)
    );
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(text.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// The protocol parameters that enter the base string, in a fixed order.
fn oauth_params<'a>(
    creds: &TbaCredentials<'a>,
    req: &TbaRequestParams<'a>,
    timestamp: &'a str,
) -> [(&'static str, &'a str); 6] {
    [
        ("oauth_consumer_key", creds.consumer_key),
        ("oauth_nonce", req.nonce),
        ("oauth_signature_method", SIGNATURE_METHOD),
        ("oauth_timestamp", timestamp),
        ("oauth_token", creds.token_id),
        ("oauth_version", OAUTH_VERSION),
    ]
}

/// Signature of one REST request.
pub fn request_signature(
    method: &str,
    url: &Url,
    creds: &TbaCredentials<'_>,
    req: &TbaRequestParams<'_>,
) -> String {
    let ts = req.timestamp.to_string();
    let base = signature_base_string(method, url, &oauth_params(creds, req, &ts));
    sign(&base, creds.consumer_secret, creds.token_secret)
}

/// `Authorization` header value. Query parameters are signed but never repeated here.
pub fn authorization_header(
    method: &str,
    url: &Url,
    creds: &TbaCredentials<'_>,
    req: &TbaRequestParams<'_>,
) -> String {
    let signature = request_signature(method, url, creds, req);
    let ts = req.timestamp.to_string();
    let fields = [
        ("realm", req.realm),
        ("oauth_token", creds.token_id),
        ("oauth_consumer_key", creds.consumer_key),
        ("oauth_nonce", req.nonce),
        ("oauth_timestamp", ts.as_str()),
        ("oauth_signature_method", SIGNATURE_METHOD),
        ("oauth_version", OAUTH_VERSION),
        ("oauth_signature", signature.as_str()),
    ];
    let parts: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", percent_encode(v)))
        .collect();
    format!("OAuth {}", parts.join(", "))
}

/// SOAP token-passport signature (`realm&consumer_key&token&nonce&timestamp`); kept for
/// reference vector (c), which pins the HMAC key construction independently of URLs.
pub fn token_passport_signature(creds: &TbaCredentials<'_>, req: &TbaRequestParams<'_>) -> String {
    let base = format!(
        "{}&{}&{}&{}&{}",
        req.realm, creds.consumer_key, creds.token_id, req.nonce, req.timestamp
    );
    sign(&base, creds.consumer_secret, creds.token_secret)
}

/// Parses an `OAuth k="v", ...` header into decoded pairs; `None` if it is not OAuth.
pub fn parse_authorization_header(value: &str) -> Option<Vec<(String, String)>> {
    let rest = value.trim().strip_prefix("OAuth")?;
    let mut out = Vec::new();
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (k, v) = part.split_once('=')?;
        let v = v.trim().trim_matches('"');
        let decoded = percent_encoding::percent_decode_str(v)
            .decode_utf8()
            .ok()?
            .into_owned();
        out.push((k.trim().to_string(), decoded));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDS: TbaCredentials<'static> = TbaCredentials {
        consumer_key: "ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4",
        consumer_secret: "d26ad321a4b2f23b0741c8d38392ce01c3e23e109df6c96eac6d099e9ab9e8b5",
        token_id: "2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc",
        token_secret: "c29a677df7d5439a458c063654187e3d678d73aca8e3c9d8bea1478a3eb0d295",
    };
    const REQ: TbaRequestParams<'static> = TbaRequestParams {
        realm: "123456",
        nonce: "fjaLirsIcCGVZWzBX0pg",
        timestamp: 1508242306,
    };

    fn oauth_only(ts: &'static str) -> [(&'static str, &'static str); 6] {
        oauth_params(&CREDS, &REQ, ts)
    }

    #[test]
    fn vector_a_rest_get_base_string_signature_and_header() {
        let url = Url::parse(
            "https://123456.suitetalk.api.netsuite.com/services/rest/record/v1/employee/40",
        )
        .unwrap();
        let base = signature_base_string("GET", &url, &oauth_only("1508242306"));
        assert_eq!(
            base,
            "GET&https%3A%2F%2F123456.suitetalk.api.netsuite.com%2Fservices%2Frest%2Frecord%2Fv1%2Femployee%2F40&oauth_consumer_key%3Def40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4%26oauth_nonce%3DfjaLirsIcCGVZWzBX0pg%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1508242306%26oauth_token%3D2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc%26oauth_version%3D1.0"
        );
        assert_eq!(
            request_signature("GET", &url, &CREDS, &REQ),
            "B5OIWznZ2YP0OB7VrJrGkYsTh+8H+5T9Hag+o92q0zY="
        );
        assert_eq!(
            authorization_header("GET", &url, &CREDS, &REQ),
            "OAuth realm=\"123456\", oauth_token=\"2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc\", oauth_consumer_key=\"ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4\", oauth_nonce=\"fjaLirsIcCGVZWzBX0pg\", oauth_timestamp=\"1508242306\", oauth_signature_method=\"HMAC-SHA256\", oauth_version=\"1.0\", oauth_signature=\"B5OIWznZ2YP0OB7VrJrGkYsTh%2B8H%2B5T9Hag%2Bo92q0zY%3D\""
        );
    }

    #[test]
    fn vector_b_query_params_signed_but_not_in_header() {
        let url = Url::parse("https://123456.restlets.api.netsuite.com/app/site/hosting/restlet.nl?script=6&deploy=1&customParam=someValue&testParam=someOtherValue").unwrap();
        let base = signature_base_string("POST", &url, &oauth_only("1508242306"));
        assert_eq!(
            base,
            "POST&https%3A%2F%2F123456.restlets.api.netsuite.com%2Fapp%2Fsite%2Fhosting%2Frestlet.nl&customParam%3DsomeValue%26deploy%3D1%26oauth_consumer_key%3Def40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4%26oauth_nonce%3DfjaLirsIcCGVZWzBX0pg%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1508242306%26oauth_token%3D2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc%26oauth_version%3D1.0%26script%3D6%26testParam%3DsomeOtherValue"
        );
        assert_eq!(
            request_signature("POST", &url, &CREDS, &REQ),
            "+KK4SKNgz4ZiILGLwOMtfYlgcXSy1eis8ldE9X90azQ="
        );
        let header = authorization_header("POST", &url, &CREDS, &REQ);
        for q in ["script", "deploy", "customParam", "testParam", "someValue"] {
            assert!(!header.contains(q), "{q} leaked into the header: {header}");
        }
        assert!(
            header.contains("oauth_signature=\"%2BKK4SKNgz4ZiILGLwOMtfYlgcXSy1eis8ldE9X90azQ%3D\"")
        );
    }

    #[test]
    fn vector_c_token_passport() {
        assert_eq!(
            token_passport_signature(&CREDS, &REQ),
            "tIcC5zyKUmycB5Ml/cNxOHDusw03Y5KPQiXVNUHHp4U="
        );
    }

    #[test]
    fn account_id_gives_host_and_realm() {
        assert_eq!(
            default_rest_base("1234567_SB1"),
            "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest"
        );
        assert_eq!(realm("1234567_SB1"), "1234567_SB1");
        assert_eq!(realm("1234567-sb1"), "1234567_SB1");
        assert_eq!(host_label("1234567_SB1"), "1234567-sb1");
    }

    #[test]
    fn encoding_keeps_unreserved_and_uses_percent20() {
        assert_eq!(percent_encode("a b+c=d~e.f_g-h"), "a%20b%2Bc%3Dd~e.f_g-h");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }

    #[test]
    fn base_string_uri_keeps_non_default_port_and_drops_query() {
        let url = Url::parse("HTTP://LocalHost:8080/services/rest/x?limit=5").unwrap();
        assert_eq!(
            base_string_uri(&url),
            "http://localhost:8080/services/rest/x"
        );
        let url = Url::parse("https://h.example:443/p").unwrap();
        assert_eq!(base_string_uri(&url), "https://h.example/p");
    }

    #[test]
    fn header_round_trips_through_parser() {
        let url = Url::parse("https://h.example/p").unwrap();
        let header = authorization_header("GET", &url, &CREDS, &REQ);
        let parsed = parse_authorization_header(&header).unwrap();
        let sig = parsed
            .iter()
            .find(|(k, _)| k == "oauth_signature")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(sig, request_signature("GET", &url, &CREDS, &REQ));
        assert_eq!(parsed[0], ("realm".to_string(), "123456".to_string()));
        assert!(parse_authorization_header("Bearer abc").is_none());
    }
}
