//! Where the bridges under test keep their queue and state. Each benchmark phase gets a
//! scope of its own (a Redis key prefix, or a data directory) so phases never see each
//! other's jobs, and every scope is deleted when the run ends.

use std::path::PathBuf;

pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Which backend `--backend` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// Redis Streams at `REDIS_URL` (default redis://127.0.0.1:6379).
    Redis,
    /// The embedded single-instance database, in a temporary directory.
    Embedded,
}

#[derive(Debug, Clone)]
pub enum Backend {
    Redis { url: String },
    Embedded { root: PathBuf },
}

impl Backend {
    /// Redis from `REDIS_URL` or the local default; embedded under the system temp dir.
    pub fn choose(kind: BackendKind, run_id: &str) -> Backend {
        match kind {
            BackendKind::Redis => Backend::Redis {
                url: std::env::var("REDIS_URL")
                    .ok()
                    .filter(|u| !u.trim().is_empty())
                    .unwrap_or_else(|| DEFAULT_REDIS_URL.to_string()),
            },
            BackendKind::Embedded => Backend::Embedded {
                root: std::env::temp_dir().join(run_id),
            },
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Redis { .. } => "redis",
            Backend::Embedded { .. } => "embedded",
        }
    }

    /// For the report: the kind and where it lives (no credentials printed).
    pub fn describe(&self) -> String {
        match self {
            Backend::Redis { url } => format!("Redis Streams at {}", redact(url)),
            Backend::Embedded { root } => {
                format!("embedded SQLite under {}", root.display())
            }
        }
    }

    /// Bridge settings that put a phase's queue and state in its own scope.
    pub fn settings(&self, scope: &str) -> Vec<(String, String)> {
        match self {
            Backend::Redis { url } => vec![
                ("REDIS_URL".into(), url.clone()),
                ("REDIS_KEY_PREFIX".into(), scope.to_string()),
            ],
            Backend::Embedded { root } => vec![(
                "DATA_DIR".into(),
                root.join(scope).to_string_lossy().into_owned(),
            )],
        }
    }

    /// Deletes everything a scope holds.
    pub async fn cleanup(&self, scope: &str) -> anyhow::Result<()> {
        match self {
            Backend::Redis { url } => {
                bridge::queue::redis::delete_keys_with_prefix(url, scope).await?;
            }
            Backend::Embedded { root } => {
                let dir = root.join(scope);
                if dir.exists() {
                    tokio::fs::remove_dir_all(&dir).await?;
                }
            }
        }
        Ok(())
    }

    /// CPU seconds the storage server has used so far, when it is a process of its own
    /// (Redis `INFO cpu`; shared with anything else using that Redis). `None` otherwise.
    pub async fn server_cpu_seconds(&self) -> Option<f64> {
        let Backend::Redis { url } = self else {
            return None;
        };
        let client = redis::Client::open(url.as_str()).ok()?;
        let mut conn = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            client.get_multiplexed_async_connection(),
        )
        .await
        .ok()?
        .ok()?;
        let info: String = redis::cmd("INFO")
            .arg("cpu")
            .query_async(&mut conn)
            .await
            .ok()?;
        parse_redis_cpu(&info)
    }

    /// Removes what the run left outside its scopes (the embedded root directory).
    pub async fn finish(&self) -> anyhow::Result<()> {
        if let Backend::Embedded { root } = self {
            if root.exists() {
                tokio::fs::remove_dir_all(root).await?;
            }
        }
        Ok(())
    }
}

/// `used_cpu_sys + used_cpu_user` from `INFO cpu`.
fn parse_redis_cpu(info: &str) -> Option<f64> {
    let field = |name: &str| -> Option<f64> {
        info.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
    };
    Some(field("used_cpu_sys:")? + field("used_cpu_user:")?)
}

/// `redis://user:secret@host` → `redis://user:***@host`.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_become_prefixes_or_directories() {
        let r = Backend::Redis {
            url: DEFAULT_REDIS_URL.into(),
        };
        assert!(r
            .settings("bench-1-ingress")
            .contains(&("REDIS_KEY_PREFIX".into(), "bench-1-ingress".into())));
        let e = Backend::Embedded {
            root: PathBuf::from("/tmp/bench-1"),
        };
        assert_eq!(
            e.settings("orders"),
            vec![("DATA_DIR".to_string(), "/tmp/bench-1/orders".to_string())]
        );
    }

    #[test]
    fn redis_cpu_is_user_plus_system() {
        let info =
            "# CPU\r\nused_cpu_sys:1.5\r\nused_cpu_user:2.25\r\nused_cpu_sys_children:0.0\r\n";
        assert_eq!(parse_redis_cpu(info), Some(3.75));
    }

    #[test]
    fn passwords_do_not_print() {
        let b = Backend::Redis {
            url: "redis://u:hunter2@10.0.0.1:6379".into(),
        };
        assert!(!b.describe().contains("hunter2"));
    }
}
