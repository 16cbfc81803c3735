//! Simulated TikTok Shop and NetSuite servers for tests, the demo and benchmarks. Both
//! are served on one address (their paths do not overlap), so a bridge only needs its
//! base URLs pointed here.

pub mod clock;
pub mod netsuite;
pub mod tiktok;

use netsuite::{NetSuiteSandbox, NetSuiteSandboxConfig};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tiktok::{TikTokSandbox, TikTokSandboxConfig};

/// SKUs the sandbox's NetSuite knows from the start, for the demo and a first curl.
pub const DEMO_SKUS: &[&str] = &["TSHIRT-BLK-M", "TSHIRT-BLK-L", "HOODIE-GRY-M", "CAP-RED"];

/// Item ids of the adjustment lines (shipping, tax, discounts) in the sandbox account.
#[derive(Debug, Clone)]
pub struct AdjustmentItems {
    pub shipping: String,
    pub tax: String,
    pub seller_discount: String,
    pub platform_discount: String,
    /// Market fees of `payment` (handling, insurance, service fees).
    pub fees: String,
    /// Differences accepted within the bridge's totals tolerance.
    pub rounding: String,
}

pub struct SandboxHandle {
    pub addr: SocketAddr,
    pub base_url: String,
    pub tiktok: Arc<TikTokSandbox>,
    pub netsuite: Arc<NetSuiteSandbox>,
    pub adjustments: AdjustmentItems,
    webhook_target: Mutex<Option<String>>,
}

/// Start both simulators on `addr` (port 0 picks a free one) with their default settings.
pub async fn spawn(addr: SocketAddr) -> std::io::Result<SandboxHandle> {
    spawn_with(
        addr,
        TikTokSandboxConfig::default(),
        NetSuiteSandboxConfig::default(),
    )
    .await
}

pub async fn spawn_with(
    addr: SocketAddr,
    tiktok_cfg: TikTokSandboxConfig,
    netsuite_cfg: NetSuiteSandboxConfig,
) -> std::io::Result<SandboxHandle> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let tt = TikTokSandbox::new(tiktok_cfg);
    let ns = NetSuiteSandbox::new(netsuite_cfg);
    ns.set_base_url(&base_url);
    let app = tiktok::router(tt.clone()).merge(netsuite::router(ns.clone()));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "sandbox server stopped");
        }
    });
    let (shipping, tax, seller_discount, platform_discount) = (
        ns.add_item("TIKTOK-SHIPPING"),
        ns.add_item("TIKTOK-TAX"),
        ns.add_item("TIKTOK-SELLER-DISCOUNT"),
        ns.add_item("TIKTOK-PLATFORM-DISCOUNT"),
    );
    for sku in DEMO_SKUS {
        ns.add_item(sku);
    }
    // Added after the demo SKUs so their internal ids stay as they were.
    let adjustments = AdjustmentItems {
        shipping,
        tax,
        seller_discount,
        platform_discount,
        fees: ns.add_item("TIKTOK-FEES"),
        rounding: ns.add_item("TIKTOK-ROUNDING"),
    };
    Ok(SandboxHandle {
        addr,
        base_url,
        tiktok: tt,
        netsuite: ns,
        adjustments,
        webhook_target: Mutex::new(None),
    })
}

impl SandboxHandle {
    /// Settings that point a bridge at this sandbox (TBA auth, no key file needed).
    /// Layered under the real environment, so anything set there still wins. No
    /// `REDIS_URL`: the backend is the environment's choice (embedded when unset).
    pub fn bridge_settings(&self) -> HashMap<String, String> {
        let t = self.tiktok.config();
        let n = self.netsuite.config();
        let a = &self.adjustments;
        [
            ("TIKTOK_APP_KEY", t.app_key.as_str()),
            ("TIKTOK_APP_SECRET", t.app_secret.as_str()),
            ("TIKTOK_API_BASE", self.base_url.as_str()),
            ("TIKTOK_AUTH_BASE", self.base_url.as_str()),
            ("TIKTOK_SHOP_ID", t.shop_id.as_str()),
            ("TIKTOK_SHOP_CIPHER", t.shop_cipher.as_str()),
            ("TIKTOK_ACCESS_TOKEN", t.access_token.as_str()),
            ("TIKTOK_REFRESH_TOKEN", t.refresh_token.as_str()),
            ("NETSUITE_ACCOUNT_ID", n.account_id.as_str()),
            ("NETSUITE_AUTH", "tba"),
            ("NETSUITE_CONSUMER_KEY", n.consumer_key.as_str()),
            ("NETSUITE_CONSUMER_SECRET", n.consumer_secret.as_str()),
            ("NETSUITE_TOKEN_ID", n.token_id.as_str()),
            ("NETSUITE_TOKEN_SECRET", n.token_secret.as_str()),
            ("NETSUITE_SHIPPING_ITEM_ID", a.shipping.as_str()),
            ("NETSUITE_TAX_ITEM_ID", a.tax.as_str()),
            (
                "NETSUITE_SELLER_DISCOUNT_ITEM_ID",
                a.seller_discount.as_str(),
            ),
            (
                "NETSUITE_PLATFORM_DISCOUNT_ITEM_ID",
                a.platform_discount.as_str(),
            ),
            ("NETSUITE_FEE_ITEM_ID", a.fees.as_str()),
            ("NETSUITE_ROUNDING_ITEM_ID", a.rounding.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([("NETSUITE_REST_BASE".to_string(), self.netsuite.rest_base())])
        .chain([(
            "NETSUITE_CALLOUT_SECRET".to_string(),
            netsuite::callouts::SANDBOX_CALLOUT_SECRET.to_string(),
        )])
        // The sandbox's carriers by name, so F1 ships without further setup.
        .chain([(
            "CARRIER_MAP".to_string(),
            tiktok::DEFAULT_SHIPPING_PROVIDERS
                .iter()
                .map(|(id, name)| format!("{name}={id}"))
                .collect::<Vec<_>>()
                .join(","),
        )])
        .collect()
    }

    /// Tell the simulators the URL clients reach them by (behind a proxy or in a container
    /// network): NetSuite TBA signatures cover it, and `Location` headers use it.
    pub fn set_public_url(&mut self, url: &str) {
        let url = url.trim_end_matches('/').to_string();
        self.netsuite.set_base_url(&url);
        self.base_url = url;
    }

    /// Where a bridge listens, so the instructions can name it.
    pub fn set_webhook_target(&self, url: &str) {
        *self.webhook_target.lock() = Some(url.to_string());
    }

    /// How to drive the sandbox by hand.
    pub fn describe(&self) -> String {
        let base = &self.base_url;
        let target = self
            .webhook_target
            .lock()
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:8080/webhooks/tiktok".into());
        format!(
            "Sandbox TikTok Shop + NetSuite at {base}
  1. Create a paid order in the TikTok sandbox:
     curl -s -X POST {base}/_sandbox/tiktok/orders -H 'content-type: application/json' \\
       -d '{{\"order_id\":\"576486316948490001\",\"lines\":[{{\"seller_sku\":\"TSHIRT-BLK-M\",\"sku_id\":\"1729592969712207013\",\"product_id\":\"1729592969712200000\",\"unit_price\":\"19.99\",\"quantity\":2}}]}}'
  2. Have the sandbox send the signed order-status webhook to the bridge:
     curl -s -X POST {base}/_sandbox/tiktok/webhooks -H 'content-type: application/json' \\
       -d '{{\"url\":\"{target}\",\"topic\":1,\"order_id\":\"576486316948490001\"}}'
  3. See the sales order NetSuite now holds:
     curl -s {base}/_sandbox/netsuite/sales-orders
  Known SKUs: {skus}. Webhooks are signed with app key {key:?} and secret {secret:?}
  (Authorization = hex HMAC-SHA256(secret, app_key + body)).",
            skus = DEMO_SKUS.join(", "),
            key = self.tiktok.config().app_key,
            secret = self.tiktok.config().app_secret,
        )
    }
}
