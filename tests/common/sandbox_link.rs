//! Client settings that point the bridge's own API clients at the sandbox, for tests that
//! drive a client directly. The sandbox crate knows nothing of the bridge's types (it is a
//! witness that shares no code with the client it checks), so the bridge side builds them
//! here from the credentials the sandbox was started with.

use bridge::config::{NetSuiteAuth, NetSuiteConfig, TikTokConfig};
use sandbox::netsuite::{NetSuiteSandbox, SANDBOX_PRIVATE_KEY_PEM};
use sandbox::tiktok::TikTokSandboxConfig;
use secrecy::SecretString;
use std::time::Duration;

/// Which of the simulated account's credentials a NetSuite client is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxAuthMode {
    Tba,
    OAuth2,
}

/// TikTok client settings for a sandbox served at `base_url` (API and token host alike).
pub trait TikTokClientConfig {
    fn client_config(&self, base_url: &str) -> TikTokConfig;
}

impl TikTokClientConfig for TikTokSandboxConfig {
    fn client_config(&self, base_url: &str) -> TikTokConfig {
        let base = base_url.trim_end_matches('/').to_string();
        TikTokConfig {
            app_key: self.app_key.clone(),
            app_secret: self.app_secret.clone().into(),
            api_base: base.clone(),
            auth_base: base,
            shop_id: self.shop_id.clone(),
            shop_cipher: self.shop_cipher.clone(),
            access_token: self.access_token.clone().into(),
            refresh_token: self.refresh_token.clone().into(),
            qps_per_api: self.qps_per_api,
            timeout: Duration::from_secs(10),
        }
    }
}

/// NetSuite client settings holding the simulated account's credentials.
pub trait NetSuiteClientConfig {
    fn client_config(&self, mode: SandboxAuthMode, concurrency: usize) -> NetSuiteConfig;
}

impl NetSuiteClientConfig for NetSuiteSandbox {
    fn client_config(&self, mode: SandboxAuthMode, concurrency: usize) -> NetSuiteConfig {
        let cfg = self.config();
        let auth = match mode {
            SandboxAuthMode::Tba => NetSuiteAuth::Tba {
                consumer_key: cfg.consumer_key.clone(),
                consumer_secret: SecretString::from(cfg.consumer_secret.clone()),
                token_id: cfg.token_id.clone(),
                token_secret: SecretString::from(cfg.token_secret.clone()),
            },
            SandboxAuthMode::OAuth2 => NetSuiteAuth::OAuth2 {
                client_id: cfg.client_id.clone(),
                certificate_id: cfg.certificate_id.clone(),
                private_key_pem: SecretString::from(SANDBOX_PRIVATE_KEY_PEM.to_string()),
                algorithm: "ES256".into(),
            },
        };
        NetSuiteConfig {
            account_id: cfg.account_id.clone(),
            rest_base: self.rest_base(),
            auth,
            concurrency,
            timeout: Duration::from_secs(30),
        }
    }
}

/// A sandbox on a free port, for tests that drive a client directly.
pub async fn spawn_sandbox() -> sandbox::SandboxHandle {
    sandbox::spawn("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sandbox starts")
}

/// The bridge's TikTok client pointed at `sb`, its token state in `dir`.
pub async fn tiktok_client(
    sb: &sandbox::SandboxHandle,
    dir: &std::path::Path,
) -> bridge::tiktok::client::TikTokClient {
    let state = bridge::state::sqlite::SqliteState::open(dir)
        .await
        .expect("state opens");
    let cfg = sb.tiktok.config().client_config(&sb.base_url);
    bridge::tiktok::client::TikTokClient::new(cfg, std::sync::Arc::new(state))
        .expect("client builds")
}

/// The bridge's NetSuite client pointed at `sb` with TBA credentials.
pub fn netsuite_client(
    sb: &sandbox::SandboxHandle,
    concurrency: usize,
) -> bridge::netsuite::NetSuiteClient {
    bridge::netsuite::NetSuiteClient::new(
        sb.netsuite.client_config(SandboxAuthMode::Tba, concurrency),
    )
    .expect("client")
}
