//! Secrets: weak ones stop start-up with a message saying how to make one; no secret or
//! password shows in any log line, error or debug output of the paths that handle them; the
//! embedded database is private to its user.

mod common;

use bridge::netsuite::callout::sign;
use common::{redis_url, Harness};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Distinctive values no id, timestamp or hash can contain by chance.
const ADMIN: &str = "adm1n-Qz7vK2pW9xR4tL8m-unmistakable";
const WRONG_ADMIN: &str = "wr0ng-Hj5nB3cF6yD1sG0a-unmistakable";
const CALLOUT: &str = "ca11out-Xe4uN8kM2qV7wZ5r-unmistakable";
const WRONG_CALLOUT: &str = "wr0ngcall-Lp9tY6hA3jS1dE8f-unmistakable";
const REDIS_PASSWORD: &str = "R3d1sPw-Vb2nC7xZ4mK9-unmistakable";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn assert_clean(what: &str, text: &str, needles: &[&str]) {
    for needle in needles {
        if let Some(line) = text.lines().find(|l| l.contains(needle)) {
            panic!("{needle:?} leaked into {what}: {line}");
        }
    }
}

/// The configured secrets, but the service paths that read them run: config refusals, a
/// Redis URL with a password that Redis refuses, admin calls with the right and a wrong
/// token, callouts with the right and a wrong secret, and the debug form of the config.
#[tokio::test]
async fn no_secret_reaches_a_log_line_or_an_error() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut out = String::new();

    let h = Harness::new().await;
    let mut settings = h.settings.clone();
    settings.insert("ADMIN_TOKEN".into(), ADMIN.into());
    settings.insert("NETSUITE_CALLOUT_SECRET".into(), CALLOUT.into());
    settings.insert("BRIDGE_ROLE".into(), "ingress".into());

    // Refusals at start-up.
    let with_password = redis_url().replacen("redis://", &format!("redis://:{REDIS_PASSWORD}@"), 1);
    for (name, value) in [
        (
            "REDIS_URL",
            with_password.replacen("redis://", "redis//", 1),
        ),
        (
            "REDIS_URL",
            with_password.replacen("redis://", "http://", 1),
        ),
        ("ADMIN_TOKEN", "REPLACE_ME".to_string()),
        ("ADMIN_TOKEN", ADMIN[..20].to_string()),
        (
            "NETSUITE_CALLOUT_SECRET",
            format!("{CALLOUT} {}", &CALLOUT[..24]),
        ),
    ] {
        let mut s = settings.clone();
        s.insert(name.into(), value);
        let e = bridge::config::Config::from_source(&s).unwrap_err();
        let shown = format!("{e}\n{e:?}\n");
        assert!(shown.contains(name), "{shown}");
        out.push_str(&shown);
    }

    // A Redis that refuses the password: the connection error names no password.
    let mut s = settings.clone();
    s.insert("REDIS_URL".into(), with_password.clone());
    let cfg = bridge::config::Config::from_source(&s).unwrap();
    out.push_str(&format!("{cfg:?}\n"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    match bridge::app::start(cfg, Some(listener)).await {
        Ok(_) => panic!("Redis has no password set, so AUTH with one fails"),
        Err(e) => out.push_str(&format!("{e:#}\n{e:?}\n")),
    }

    // The service itself.
    let cfg = bridge::config::Config::from_source(&settings).unwrap();
    out.push_str(&format!("{cfg:?}\n"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b = bridge::app::start(cfg, Some(listener)).await.unwrap();
    let base = format!("http://{}", b.addr.unwrap());
    let http = reqwest::Client::new();
    for (token, want) in [(ADMIN, 200), (WRONG_ADMIN, 401)] {
        let r = http
            .get(format!("{base}/admin/parked"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want);
        out.push_str(&r.text().await.unwrap());
    }
    let body = serde_json::json!({
        "type": "item_fulfillment.shipped",
        "occurred_at": "2026-11-27T18:00:00.000Z",
        "account": settings["NETSUITE_ACCOUNT_ID"],
        "data": {"item_fulfillment_id": "4321", "created_from": "1234", "ship_status": "C"},
    })
    .to_string();
    let now = bridge::queue::now_ms() / 1000;
    for (i, (secret, want)) in [(CALLOUT, 200), (WRONG_CALLOUT, 401)].iter().enumerate() {
        let id = format!("ns_secret_test_{i}");
        let r = http
            .post(format!("{base}/callouts/netsuite"))
            .header("webhook-id", &id)
            .header("webhook-timestamp", now.to_string())
            .header(
                "webhook-signature",
                sign(secret.as_bytes(), &id, now, body.as_bytes()),
            )
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), *want);
        out.push_str(&r.text().await.unwrap());
    }
    b.shutdown().await;
    h.cleanup().await;

    let log = captured.text();
    assert!(
        log.contains("missing or wrong") || log.contains("callout"),
        "the paths were logged: {log}"
    );
    let needles = [
        ADMIN,
        WRONG_ADMIN,
        CALLOUT,
        WRONG_CALLOUT,
        REDIS_PASSWORD,
        &ADMIN[..20],
        &CALLOUT[..24],
    ];
    assert_clean("the log", &log, &needles);
    assert_clean("errors and debug output", &out, &needles);
}

fn serve(env: &[(&str, String)]) -> (bool, String) {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tiktok-netsuite-bridge"));
    cmd.args(["serve", "--sandbox-addr", "127.0.0.1:0"])
        .current_dir(tmp.path())
        .env_clear()
        .env("DATA_DIR", tmp.path().join("data"))
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "trace");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// What an operator sees when `serve` refuses to start: the setting named, how to fix it,
/// and never the value.
#[test]
fn serve_refuses_weak_secrets_and_a_bad_redis_url_without_printing_them() {
    let with_password = format!("redis://bridge:{REDIS_PASSWORD}@127.0.0.1:1");
    let cases: [(Vec<(&str, String)>, &str); 5] = [
        (vec![("ADMIN_TOKEN", "REPLACE_ME".into())], "ADMIN_TOKEN"),
        (
            vec![("NETSUITE_CALLOUT_SECRET", CALLOUT[..30].into())],
            "NETSUITE_CALLOUT_SECRET",
        ),
        (
            vec![("REDIS_URL", with_password.replacen("://", "//", 1))],
            "REDIS_URL",
        ),
        // Nothing listens on port 1: connecting fails.
        (vec![("REDIS_URL", with_password.clone())], "REDIS_URL"),
        (
            vec![
                ("ADMIN_TOKEN", ADMIN.into()),
                ("ADMIN_TOKEN_FILE", "/nonexistent/admin-token".into()),
            ],
            "not both",
        ),
    ];
    for (env, expect) in cases {
        let (ok, text) = serve(&env);
        assert!(!ok, "{env:?} must not start: {text}");
        assert!(text.contains(expect), "{env:?}: {text}");
        if expect != "REDIS_URL" && expect != "not both" {
            assert!(text.contains("openssl rand -hex 32"), "{text}");
        }
        assert_clean(
            "serve's output",
            &text,
            &[ADMIN, REDIS_PASSWORD, &CALLOUT[..30], "REPLACE_ME"],
        );
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_embedded_database_is_private_to_its_user() {
    use bridge::state::StateStore;
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let tmp = tempfile::tempdir().unwrap();

    // A new DATA_DIR (and its missing parent) is created 0700, its files 0600.
    let dir = tmp.path().join("new/data");
    let db = bridge::queue::sqlite::EmbeddedDb::open(&dir).await.unwrap();
    let state = bridge::state::sqlite::SqliteState::new(db.clone());
    state.set("token", "x", None).await.unwrap();
    assert_eq!(mode(&dir), 0o700);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.len() >= 3, "db, wal, lock at least: {files:?}");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    drop(state);
    drop(db);

    // An existing directory left open to others, with an old world-readable database, is
    // tightened at start-up.
    let old = tmp.path().join("old");
    std::fs::create_dir(&old).unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
    let old_db = old.join(bridge::queue::sqlite::DB_FILE);
    std::fs::write(&old_db, b"").unwrap();
    std::fs::set_permissions(&old_db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let db = bridge::queue::sqlite::EmbeddedDb::open(&old).await.unwrap();
    assert_eq!(mode(&old), 0o700);
    assert_eq!(mode(&old_db), 0o600);
    drop(db);
}
