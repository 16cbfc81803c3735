//! Typed configuration from the environment, validated once at start-up. A missing or
//! malformed setting stops start-up with a message naming it. Secrets are `SecretString`
//! so they never print.

use secrecy::SecretString;
use std::collections::HashMap;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is required: {why}")]
    Missing { name: &'static str, why: String },
    #[error("{name} is invalid ({value:?}): {why}")]
    Invalid {
        name: &'static str,
        value: String,
        why: String,
    },
}

#[derive(Debug, Clone)]
pub struct TikTokConfig {
    pub app_key: String,
    pub app_secret: SecretString,
    /// Open API base, e.g. `https://open-api.tiktokglobalshop.com`.
    pub api_base: String,
    /// Token host base, e.g. `https://auth.tiktok-shops.com`.
    pub auth_base: String,
    pub shop_id: String,
    pub shop_cipher: String,
    pub access_token: SecretString,
    pub refresh_token: SecretString,
    /// Calls per second per API path for this shop (TikTok allows 50).
    pub qps_per_api: u32,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub enum NetSuiteAuth {
    /// OAuth 2.0 client credentials with a JWT assertion signed by our private key.
    OAuth2 {
        client_id: String,
        certificate_id: String,
        /// PEM text of the private key (read from `NETSUITE_PRIVATE_KEY`, a path).
        private_key_pem: SecretString,
        /// JWT `alg`: PS256 (RSA) or ES256 (EC P-256). Chosen from the key type.
        algorithm: String,
    },
    /// Token-based authentication, OAuth 1.0a HMAC-SHA256.
    Tba {
        consumer_key: String,
        consumer_secret: SecretString,
        token_id: String,
        token_secret: SecretString,
    },
}

#[derive(Debug, Clone)]
pub struct NetSuiteConfig {
    /// As issued, e.g. `1234567_SB1`; the realm is this upper-cased.
    pub account_id: String,
    /// e.g. `https://1234567-sb1.suitetalk.api.netsuite.com/services/rest`.
    pub rest_base: String,
    pub auth: NetSuiteAuth,
    /// Requests in flight at most against this account (its governance limit share).
    pub concurrency: usize,
    pub timeout: Duration,
}

/// How TikTok orders become NetSuite sales orders (DESIGN.md §6).
#[derive(Debug, Clone, PartialEq)]
pub struct MappingConfig {
    /// `Some(id)`: every order goes to this customer. `None`: one customer per buyer.
    pub fixed_customer_id: Option<String>,
    pub subsidiary_id: Option<String>,
    /// NetSuite item field `seller_sku` is matched against (default `itemid`).
    pub sku_field: String,
    pub shipping_item_id: String,
    pub tax_item_id: String,
    pub seller_discount_item_id: String,
    pub platform_discount_item_id: String,
    /// TikTok warehouse id -> NetSuite location id.
    pub warehouse_locations: HashMap<String, String>,
    pub default_location_id: Option<String>,
    pub fbt_location_id: Option<String>,
    /// NetSuite `orderStatus` for new orders (`B` = Pending Fulfillment).
    pub order_status: String,
}

impl Default for MappingConfig {
    fn default() -> Self {
        MappingConfig {
            fixed_customer_id: None,
            subsidiary_id: None,
            sku_field: "itemid".into(),
            shipping_item_id: "shipping".into(),
            tax_item_id: "tax".into(),
            seller_discount_item_id: "seller-discount".into(),
            platform_discount_item_id: "platform-discount".into(),
            warehouse_locations: HashMap::new(),
            default_location_id: None,
            fbt_location_id: None,
            order_status: "B".into(),
        }
    }
}

/// Which parts of the service this replica runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    All,
    Ingress,
    Worker,
}

#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub redis_url: String,
    /// Prefix of every Redis key; wrapped in `{}` so one deployment shares a cluster slot.
    pub key_prefix: String,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// A job pending longer than this on a consumer is reclaimed by another.
    pub reclaim_idle: Duration,
    pub dedupe_ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind_addr: std::net::SocketAddr,
    pub role: Role,
    pub queue: QueueConfig,
    pub tiktok: TikTokConfig,
    pub netsuite: NetSuiteConfig,
    pub mapping: MappingConfig,
    pub max_body_bytes: usize,
    /// Jobs a worker replica runs at once.
    pub worker_concurrency: usize,
    pub poll_interval: Duration,
    /// How far back each catch-up poll looks beyond the previous one.
    pub poll_overlap: Duration,
    pub unpark_interval: Duration,
    pub shutdown_grace: Duration,
}
