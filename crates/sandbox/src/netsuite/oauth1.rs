//! NetSuite's token-based authentication (OAuth 1.0a, HMAC-SHA256) from the verifying side,
//! written from the NetSuite reference §8.2 and pinned by its vectors (§12). The bridge signs
//! with its own code; nothing here is shared with it.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const SIGNATURE_METHOD: &str = "HMAC-SHA256";
pub const VERSION: &str = "1.0";

/// RFC 3986 percent-encoding: unreserved characters stay, every other UTF-8 byte is `%XX`
/// with upper-case hex.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reverses [`encode`] (and any other percent-encoding) for header values.
fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The realm NetSuite expects: the account id upper-cased, `-` as `_`.
pub fn realm(account_id: &str) -> String {
    account_id.trim().to_uppercase().replace('-', "_")
}

/// Pairs of an `Authorization: OAuth k="v", ...` header, values percent-decoded.
pub fn header_params(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.strip_prefix("OAuth ")?;
    let mut out = Vec::new();
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (k, v) = part.split_once('=')?;
        let v = v.trim().strip_prefix('"')?.strip_suffix('"')?;
        out.push((k.trim().to_string(), decode(v)?));
    }
    Some(out)
}

/// The signature base string: method, the URL without its query (scheme and host lower
/// case, default port dropped), and the sorted, encoded parameters (OAuth ones other than
/// realm and signature, plus the query string's).
pub fn base_string(method: &str, url: &url::Url, oauth: &[(&str, &str)]) -> String {
    let mut params: Vec<(String, String)> = oauth
        .iter()
        .filter(|(k, _)| *k != "realm" && *k != "oauth_signature")
        .map(|(k, v)| (encode(k), encode(v)))
        .collect();
    for (k, v) in url.query_pairs() {
        params.push((encode(&k), encode(&v)));
    }
    params.sort();
    let param_string: Vec<String> = params
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut target = format!(
        "{}://{}",
        url.scheme().to_lowercase(),
        url.host_str().unwrap_or("").to_lowercase()
    );
    if let Some(port) = url.port() {
        target.push_str(&format!(":{port}"));
    }
    target.push_str(url.path());
    format!(
        "{}&{}&{}",
        method.to_uppercase(),
        encode(&target),
        encode(&param_string.join("&"))
    )
}

/// base64(HMAC-SHA256(enc(consumer_secret) & enc(token_secret), base)).
pub fn signature(base: &str, consumer_secret: &str, token_secret: &str) -> String {
    let key = format!("{}&{}", encode(consumer_secret), encode(token_secret));
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(base.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CS: &str = "d26ad321a4b2f23b0741c8d38392ce01c3e23e109df6c96eac6d099e9ab9e8b5";
    const TS: &str = "c29a677df7d5439a458c063654187e3d678d73aca8e3c9d8bea1478a3eb0d295";

    fn oauth() -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "oauth_consumer_key",
                "ef40afdd8abaac111b13825dd5e5e2ddddb44f86d5a0dd6dcf38c20aae6b67e4",
            ),
            ("oauth_nonce", "fjaLirsIcCGVZWzBX0pg"),
            ("oauth_signature_method", "HMAC-SHA256"),
            ("oauth_timestamp", "1508242306"),
            (
                "oauth_token",
                "2b0ce516420110bcbd36b69e99196d1b7f6de3c6234c5afb799b73d87569f5cc",
            ),
            ("oauth_version", "1.0"),
            ("realm", "123456"),
        ]
    }

    #[test]
    fn rest_vector() {
        let url = url::Url::parse(
            "https://123456.suitetalk.api.netsuite.com/services/rest/record/v1/employee/40",
        )
        .unwrap();
        let base = base_string("GET", &url, &oauth());
        assert!(base.starts_with("GET&https%3A%2F%2F123456.suitetalk.api.netsuite.com%2Fservices%2Frest%2Frecord%2Fv1%2Femployee%2F40&oauth_consumer_key%3Def40"));
        assert_eq!(
            signature(&base, CS, TS),
            "B5OIWznZ2YP0OB7VrJrGkYsTh+8H+5T9Hag+o92q0zY="
        );
    }

    #[test]
    fn restlet_vector_signs_the_query() {
        let url = url::Url::parse("https://123456.restlets.api.netsuite.com/app/site/hosting/restlet.nl?script=6&deploy=1&customParam=someValue&testParam=someOtherValue").unwrap();
        let base = base_string("post", &url, &oauth());
        assert!(base.contains("customParam%3DsomeValue%26deploy%3D1%26oauth_consumer_key"));
        assert_eq!(
            signature(&base, CS, TS),
            "+KK4SKNgz4ZiILGLwOMtfYlgcXSy1eis8ldE9X90azQ="
        );
    }

    #[test]
    fn header_values_are_decoded() {
        let h = r#"OAuth realm="123456", oauth_token="abc", oauth_signature="B5OI%2B8H%3D""#;
        let p = header_params(h).unwrap();
        assert_eq!(p[0], ("realm".into(), "123456".into()));
        assert_eq!(p[2].1, "B5OI+8H=");
        assert!(header_params("Bearer x").is_none());
        assert_eq!(realm("1234567-sb1"), "1234567_SB1");
    }
}
