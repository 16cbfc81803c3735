//! The test rig every phase shares: one sandbox of both APIs, the chosen backend, an HTTP
//! client and webhook signer, and a way to start a bridge on a scope of its own.

use super::backend::Backend;
use super::load::{http_client, WebhookSigner};
use anyhow::Context;
use bridge::app::RunningBridge;
use bridge::config::Config;
use bridge::queue::JobQueue;
use parking_lot::Mutex;
use sandbox::netsuite::NetSuiteSandboxConfig;
use sandbox::tiktok::TikTokSandboxConfig;
use sandbox::SandboxHandle;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub struct Rig {
    pub sandbox: SandboxHandle,
    pub backend: Backend,
    pub run_id: String,
    pub http: reqwest::Client,
    pub signer: WebhookSigner,
    scopes: Mutex<Vec<String>>,
}

impl Rig {
    /// Starts the sandbox on a free local port, with the NetSuite account's concurrency
    /// limit set to `netsuite_limit`.
    pub async fn new(
        backend: Backend,
        run_id: String,
        netsuite_limit: usize,
        concurrency: usize,
    ) -> anyhow::Result<Rig> {
        let addr = "127.0.0.1:0".parse().context("loopback address")?;
        let ns = NetSuiteSandboxConfig {
            concurrency_limit: netsuite_limit,
            ..NetSuiteSandboxConfig::default()
        };
        let sandbox = sandbox::spawn_with(addr, TikTokSandboxConfig::default(), ns)
            .await
            .context("cannot start the sandbox")?;
        let t = sandbox.tiktok.config();
        let signer = WebhookSigner {
            app_key: t.app_key.clone(),
            app_secret: t.app_secret.clone(),
            shop_id: t.shop_id.clone(),
        };
        Ok(Rig {
            sandbox,
            backend,
            run_id,
            http: http_client(concurrency)?,
            signer,
            scopes: Mutex::new(Vec::new()),
        })
    }

    /// The scope (key prefix / data dir) of a phase, remembered for the final sweep.
    pub fn scope(&self, phase: &str) -> String {
        let s = format!("{}-{phase}", self.run_id);
        let mut scopes = self.scopes.lock();
        if !scopes.contains(&s) {
            scopes.push(s.clone());
        }
        s
    }

    /// The bridge's configuration for `scope`: the sandbox's credentials, the backend's
    /// settings, no timers, then `overrides`.
    pub fn config(&self, scope: &str, overrides: &[(&str, String)]) -> anyhow::Result<Config> {
        let mut s: HashMap<String, String> = self.sandbox.bridge_settings();
        s.remove("REDIS_URL");
        for (k, v) in self.backend.settings(scope) {
            s.insert(k, v);
        }
        for (k, v) in [
            ("BIND_ADDR", "127.0.0.1:0"),
            ("POLL_INTERVAL_SECS", "0"),
            ("UNPARK_INTERVAL_SECS", "3600"),
            ("SHUTDOWN_GRACE_SECS", "10"),
        ] {
            s.insert(k.into(), v.into());
        }
        s.insert("CONSUMER_NAME".into(), format!("{scope}-worker"));
        for (k, v) in overrides {
            s.insert((*k).to_string(), v.clone());
        }
        Config::from_source(&s).context("bench bridge configuration")
    }

    pub async fn start_bridge(
        &self,
        scope: &str,
        overrides: &[(&str, String)],
    ) -> anyhow::Result<RunningBridge> {
        let cfg = self.config(scope, overrides)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        bridge::app::start(cfg, Some(listener))
            .await
            .context("cannot start the bridge under test")
    }

    /// Deletes a phase's data (after its bridge stopped).
    pub async fn cleanup(&self, scope: &str) -> anyhow::Result<()> {
        self.backend
            .cleanup(scope)
            .await
            .with_context(|| format!("cannot delete the bench data of {scope}"))
    }

    /// Deletes every scope the run used, again: late writers (history records spawned by
    /// ingress) may have landed after a phase's own cleanup.
    pub async fn sweep(&self) -> anyhow::Result<()> {
        let scopes = self.scopes.lock().clone();
        let mut first_err = None;
        for s in &scopes {
            if let Err(e) = self.cleanup(s).await {
                first_err.get_or_insert(e);
            }
        }
        if let Err(e) = self.backend.finish().await {
            first_err.get_or_insert(e);
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

pub fn webhook_url(bridge: &RunningBridge) -> anyhow::Result<String> {
    let addr = bridge.addr.context("the bridge runs no ingress")?;
    Ok(format!("http://{addr}/webhooks/tiktok"))
}

pub fn callout_url(bridge: &RunningBridge) -> anyhow::Result<String> {
    let addr = bridge.addr.context("the bridge runs no ingress")?;
    Ok(format!("http://{addr}/callouts/netsuite"))
}

/// Waits until nothing is waiting, pending or delayed on the queue (or `timeout`).
pub async fn wait_queue_idle(queue: &dyn JobQueue, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(s) = queue.stats().await {
            if s.depth == 0 && s.pending == 0 && s.delayed == 0 {
                return true;
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
