//! Secrets in the configuration: read from `NAME` or from the file `NAME_FILE` names (as
//! Docker and Kubernetes mount secrets), refused when they are a known placeholder or too
//! short to resist guessing, and never echoed back in an error. URLs that may carry a
//! password (`REDIS_URL`) are shown with their user info masked.

use super::{ConfigError, Source};
use std::collections::HashMap;

/// Settings that may come from a file instead: `<NAME>_FILE=/run/secrets/...`.
pub const FILE_BACKED: &[&str] = &[
    "ADMIN_TOKEN",
    "NETSUITE_CALLOUT_SECRET",
    "REDIS_URL",
    "TIKTOK_APP_SECRET",
    "TIKTOK_ACCESS_TOKEN",
    "TIKTOK_REFRESH_TOKEN",
    "NETSUITE_CONSUMER_SECRET",
    "NETSUITE_TOKEN_SECRET",
];

/// Bytes a shared secret must have at least (256 bits as hex is 64; 32 bytes of any
/// printable text is the floor).
pub const MIN_SECRET_BYTES: usize = 32;

/// How to make a good one, said in every refusal.
const HOW_TO_GENERATE: &str = "generate one with `openssl rand -hex 32`";

/// Values shipped in examples and documentation, or typed while trying things out. Compared
/// case-insensitively after dropping `-`, `_` and spaces.
const PLACEHOLDERS: &[&str] = &[
    "replaceme",
    "changeme",
    "changeit",
    "placeholder",
    "secret",
    "password",
    "token",
    "admin",
    "example",
    "todo",
    "xxx",
    "test",
    "default",
];

/// Reads every `<NAME>_FILE` of [`FILE_BACKED`] into a map to layer under the environment.
/// Setting both `NAME` and `NAME_FILE` is refused: which one wins would be a guess.
pub fn file_overlay(src: &dyn Source) -> Result<HashMap<String, String>, ConfigError> {
    let mut out = HashMap::new();
    for name in FILE_BACKED {
        let file_var = format!("{name}_FILE");
        let Some(path) = src.get(&file_var) else {
            continue;
        };
        if src.get(name).is_some() {
            return Err(ConfigError::Invalid {
                name,
                value: format!("{name} and {file_var}"),
                why: "set one of them, not both".into(),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Invalid {
            name,
            value: format!("{file_var}={path}"),
            why: format!("cannot read the secret file: {}", e.kind()),
        })?;
        // Files written by editors and `echo` end with a newline that is not part of it.
        let value = text.trim_end_matches(['\r', '\n']).to_string();
        if value.trim().is_empty() {
            return Err(ConfigError::Invalid {
                name,
                value: format!("{file_var}={path}"),
                why: "the secret file is empty".into(),
            });
        }
        out.insert(name.to_string(), value);
    }
    Ok(out)
}

/// Refuses a placeholder or a short secret. The error names the setting, never the value.
pub fn check_strong(name: &'static str, value: &str) -> Result<(), ConfigError> {
    let folded: String = value
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' ' | '<' | '>' | '$' | '{' | '}'))
        .flat_map(char::to_lowercase)
        .collect();
    let placeholder = PLACEHOLDERS.iter().any(|p| folded == *p)
        || folded.starts_with("replaceme")
        || folded.starts_with("changeme")
        || folded.starts_with("your")
        || folded
            .chars()
            .all(|c| c == folded.chars().next().unwrap_or('x'));
    if placeholder {
        return Err(ConfigError::WeakSecret {
            name,
            why: format!("it is a placeholder, not a secret; {HOW_TO_GENERATE}"),
        });
    }
    if value.len() < MIN_SECRET_BYTES {
        return Err(ConfigError::WeakSecret {
            name,
            why: format!(
                "it has {} bytes, fewer than the {MIN_SECRET_BYTES} required; {HOW_TO_GENERATE}",
                value.len()
            ),
        });
    }
    Ok(())
}

/// `redis://user:password@host:6379/0` → `redis://***@host:6379/0`, for errors and logs.
/// Works on text that is not a URL too (a typo is what gets shown): everything between the
/// scheme and the last `@` is masked, whatever characters a mistyped password holds.
pub fn redact_url(text: &str) -> String {
    let start = text.find("://").map(|i| i + 3).unwrap_or(0);
    let rest = &text[start..];
    match rest.rfind('@') {
        Some(at) => format!("{}***{}", &text[..start], &rest[at..]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_short_values_are_refused_without_echoing_them() {
        for v in [
            "REPLACE_ME",
            "replace-me",
            "changeme",
            "CHANGE_ME",
            "<your-admin-token>",
            "Password",
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "REPLACE_ME_WITH_A_LONG_RANDOM_VALUE_FROM_OPENSSL",
        ] {
            let e = check_strong("ADMIN_TOKEN", v).unwrap_err().to_string();
            assert!(
                e.contains("ADMIN_TOKEN") && e.contains("placeholder"),
                "{v}: {e}"
            );
            assert!(e.contains("openssl rand -hex 32"), "{e}");
            assert!(!e.contains(v), "{e}");
        }
        let e = check_strong("NETSUITE_CALLOUT_SECRET", "short-but-random-9f2c")
            .unwrap_err()
            .to_string();
        assert!(e.contains("21 bytes") && e.contains("32"), "{e}");
        assert!(!e.contains("short-but-random-9f2c"), "{e}");
        check_strong("ADMIN_TOKEN", "3f9c1e0a7b5d42c8e6f1a9b0d3c7e5f2").unwrap();
    }

    #[test]
    fn user_info_is_masked_in_urls_and_typos() {
        assert_eq!(
            redact_url("redis://bridge:s3cr3t@redis:6379/0"),
            "redis://***@redis:6379/0"
        );
        assert_eq!(redact_url("redis://redis:6379"), "redis://redis:6379");
        assert_eq!(redact_url("bridge:s3cr3t@redis:6379"), "***@redis:6379");
        assert_eq!(
            redact_url("rediss//:p@ss@host:1"),
            "***@host:1",
            "a mangled scheme still hides the password"
        );
        assert_eq!(redact_url("localhost:6379"), "localhost:6379");
    }
}
