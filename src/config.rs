//! Typed configuration from the environment, validated once at start-up. A missing or
//! malformed setting stops start-up with a message naming it. Secrets are `SecretString`
//! so they never print.

use secrecy::SecretString;
use std::collections::HashMap;
use std::time::Duration;

pub mod charges;
pub mod inventory;
pub mod returns;
pub mod settlement;
pub use charges::ChargesConfig;
pub mod http;
pub mod secrets;
pub use http::HttpLimits;
pub use returns::{RefundRecord, ReturnsConfig};
pub use settlement::{PayoutRecord, SettlementConfig};

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
    /// A secret that is a placeholder or too short; its value is never shown.
    #[error("{name} is refused: {why}")]
    WeakSecret { name: &'static str, why: String },
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
        /// JWT `alg` (PS256, ES256, …); empty picks from the key type.
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
    /// F1: NetSuite ship carrier / ship method text (lowercased) -> TikTok
    /// `shipping_provider_id` (`CARRIER_MAP`).
    pub carrier_map: HashMap<String, String>,
    /// F1: how long a fulfillment of an order TikTok holds (ON_HOLD) waits before it is
    /// tried again, at least (`ON_HOLD_RECHECK_SECS`).
    pub hold_recheck: Duration,
    /// Returns and refunds (O3), see `config/returns.rs`.
    pub returns: ReturnsConfig,
    /// Settlement to the general ledger (S1), see `config/settlement.rs`.
    pub settlement: SettlementConfig,
    /// Market fees, totals tolerance, tax convention, currencies: `config/charges.rs`.
    pub charges: ChargesConfig,
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
            carrier_map: HashMap::new(),
            hold_recheck: Duration::from_secs(300),
            returns: ReturnsConfig::default(),
            settlement: SettlementConfig::default(),
            charges: ChargesConfig::default(),
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

/// Where the queue and shared state live.
#[derive(Clone, PartialEq, Eq)]
pub enum Backend {
    /// `REDIS_URL` set: Redis Streams, shared by any number of replicas.
    Redis { url: String },
    /// No `REDIS_URL`: one SQLite database under `DATA_DIR`, for a single instance.
    Embedded { data_dir: std::path::PathBuf },
}

/// The Redis URL may carry a password: debug output masks it.
impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Redis { url } => f
                .debug_struct("Redis")
                .field("url", &secrets::redact_url(url))
                .finish(),
            Backend::Embedded { data_dir } => f
                .debug_struct("Embedded")
                .field("data_dir", data_dir)
                .finish(),
        }
    }
}

impl Backend {
    /// One line for logs and banners saying which backend runs.
    pub fn describe(&self) -> String {
        match self {
            Backend::Redis { .. } => "Redis (REDIS_URL)".to_string(),
            Backend::Embedded { data_dir } => format!(
                "embedded SQLite in {} (single instance; set REDIS_URL for replicas)",
                data_dir.display()
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub backend: Backend,
    /// Prefix of every Redis key; wrapped in `{}` so one deployment shares a cluster slot.
    pub key_prefix: String,
    /// 0 = no cap: transient failures retry until `retry_horizon`.
    pub max_attempts: u32,
    pub retry_horizon: Duration,
    /// How long an order TikTok does not know yet is retried (read lag after a webhook).
    pub read_lag: Duration,
    /// Consecutive down failures that open a dependency's circuit breaker.
    pub breaker_failures: u32,
    /// How long an open breaker holds jobs before one probes.
    pub breaker_open: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// A running job's lease: a job whose worker did not renew it for `lease_expiry` is
    /// taken over by another; the worker renews every `lease_renew`.
    pub lease_expiry: Duration,
    pub lease_renew: Duration,
    pub dedupe_ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind_addr: std::net::SocketAddr,
    /// `METRICS_BIND_ADDR`: when set, `/metrics` (and health) are served there instead of
    /// on `BIND_ADDR`, out of the load balancer's reach.
    pub metrics_bind_addr: Option<std::net::SocketAddr>,
    pub role: Role,
    pub queue: QueueConfig,
    pub tiktok: TikTokConfig,
    pub netsuite: NetSuiteConfig,
    pub mapping: MappingConfig,
    pub max_body_bytes: usize,
    /// Timeouts and caps of the HTTP server (`HTTP_*`).
    pub http: HttpLimits,
    /// Jobs a worker replica runs at once.
    pub worker_concurrency: usize,
    pub poll_interval: Duration,
    /// How far back each catch-up poll looks beyond the previous one.
    pub poll_overlap: Duration,
    pub unpark_interval: Duration,
    pub shutdown_grace: Duration,
    /// Bearer token for `/admin`; the admin API is disabled without it.
    pub admin_token: Option<SecretString>,
    /// This replica's consumer name in the queue group (unique per process).
    pub consumer_name: String,
    /// Accepted secrets of `POST /callouts/netsuite` (`NETSUITE_CALLOUT_SECRET`, several
    /// whitespace-separated while rotating); empty = the route refuses every callout.
    pub callout_secrets: Vec<SecretString>,
    /// Inventory sync (I1); off unless `INVENTORY_LOCATIONS` is set.
    pub inventory: inventory::InventoryConfig,
}

/// Where settings come from: the process environment, or a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

pub struct Env;

impl Source for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Source for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name)
            .cloned()
            .filter(|v| !v.trim().is_empty())
    }
}

fn required(src: &dyn Source, name: &'static str, why: &str) -> Result<String, ConfigError> {
    src.get(name).ok_or_else(|| ConfigError::Missing {
        name,
        why: why.to_string(),
    })
}

fn parse_or<T: std::str::FromStr>(
    src: &dyn Source,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match src.get(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
            name,
            value: v.clone(),
            why: e.to_string(),
        }),
    }
}

fn positive<T: PartialOrd + Default + std::fmt::Display>(
    name: &'static str,
    v: T,
) -> Result<T, ConfigError> {
    if v > T::default() {
        Ok(v)
    } else {
        Err(ConfigError::Invalid {
            name,
            value: v.to_string(),
            why: "must be greater than zero".into(),
        })
    }
}

fn millis(src: &dyn Source, name: &'static str, default_ms: u64) -> Result<Duration, ConfigError> {
    Ok(Duration::from_millis(positive(
        name,
        parse_or(src, name, default_ms)?,
    )?))
}

fn base_url(src: &dyn Source, name: &'static str, default: &str) -> Result<String, ConfigError> {
    let v = src.get(name).unwrap_or_else(|| default.to_string());
    let parsed = url::Url::parse(&v).map_err(|e| ConfigError::Invalid {
        name,
        value: v.clone(),
        why: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ConfigError::Invalid {
            name,
            value: v,
            why: "must be an http(s) URL".into(),
        });
    }
    Ok(v.trim_end_matches('/').to_string())
}

/// `A=1,B=2` → map; used for the warehouse → location map.
fn pairs(src: &dyn Source, name: &'static str) -> Result<HashMap<String, String>, ConfigError> {
    let mut out = HashMap::new();
    if let Some(v) = src.get(name) {
        for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, val) = part.split_once('=').ok_or_else(|| ConfigError::Invalid {
                name,
                value: v.clone(),
                why: format!("expected KEY=VALUE pairs separated by commas, got {part:?}"),
            })?;
            out.insert(k.trim().to_string(), val.trim().to_string());
        }
    }
    Ok(out)
}

/// `CARRIER_MAP`: `UPS=<provider id>,FedEx Ground=<id>` → lowercased NetSuite carrier or
/// ship method text → TikTok `shipping_provider_id` (digits, as TikTok ids are).
fn carrier_map(src: &dyn Source) -> Result<HashMap<String, String>, ConfigError> {
    let raw = pairs(src, "CARRIER_MAP")?;
    let mut out = HashMap::new();
    for (k, v) in raw {
        if k.is_empty() || v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::Invalid {
                name: "CARRIER_MAP",
                value: format!("{k}={v}"),
                why: "expected <NetSuite carrier or ship method>=<numeric TikTok shipping_provider_id>".into(),
            });
        }
        out.insert(k.to_lowercase(), v);
    }
    Ok(out)
}

/// Host label and realm rules from the NetSuite reference §2: `1234567_SB1` →
/// `https://1234567-sb1.suitetalk.api.netsuite.com/services/rest`.
pub fn netsuite_rest_base_for(account_id: &str) -> String {
    let host = account_id.to_lowercase().replace('_', "-");
    format!("https://{host}.suitetalk.api.netsuite.com/services/rest")
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_source(&Env)
    }

    pub fn from_source(src: &dyn Source) -> Result<Config, ConfigError> {
        // `<NAME>_FILE` secrets sit under the environment (setting both is refused).
        let from_files = secrets::file_overlay(src)?;
        let layered = Layered {
            first: src,
            then: &from_files,
        };
        let src: &dyn Source = &layered;
        let bind_addr = parse_or(src, "BIND_ADDR", "0.0.0.0:8080".parse().expect("literal"))?;
        let role = match src.get("BRIDGE_ROLE").as_deref() {
            None | Some("all") => Role::All,
            Some("ingress") => Role::Ingress,
            Some("worker") => Role::Worker,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "BRIDGE_ROLE",
                    value: other.into(),
                    why: "expected all, ingress or worker".into(),
                })
            }
        };
        let backend = match src.get("REDIS_URL") {
            Some(url) if !url.starts_with("redis://") && !url.starts_with("rediss://") => {
                return Err(ConfigError::Invalid {
                    name: "REDIS_URL",
                    value: secrets::redact_url(&url),
                    why: "expected a redis:// or rediss:// URL (or leave it unset for the \
                          embedded single-instance backend)"
                        .into(),
                });
            }
            Some(url) => Backend::Redis { url },
            // Zero setup: without Redis the queue and state live in a local SQLite file.
            None => Backend::Embedded {
                data_dir: src
                    .get("DATA_DIR")
                    .unwrap_or_else(|| "./data".into())
                    .into(),
            },
        };
        let key_prefix = src
            .get("REDIS_KEY_PREFIX")
            .unwrap_or_else(|| "bridge".into());
        if key_prefix.contains(['{', '}', ' ']) {
            return Err(ConfigError::Invalid {
                name: "REDIS_KEY_PREFIX",
                value: key_prefix,
                why: "must not contain braces or spaces (the bridge adds the hash tag)".into(),
            });
        }
        // `JOB_RECLAIM_IDLE_MS` was the reclaim time before leases; it still sets the expiry.
        let lease_expiry = match src.get("JOB_LEASE_MS") {
            Some(_) => millis(src, "JOB_LEASE_MS", 30_000)?,
            None => millis(src, "JOB_RECLAIM_IDLE_MS", 30_000)?,
        };
        let lease_renew = match src.get("JOB_LEASE_RENEW_MS") {
            Some(_) => millis(src, "JOB_LEASE_RENEW_MS", 10_000)?,
            None => lease_expiry / 3,
        };
        if lease_renew.saturating_mul(2) > lease_expiry {
            return Err(ConfigError::Invalid {
                name: "JOB_LEASE_RENEW_MS",
                value: lease_renew.as_millis().to_string(),
                why: format!(
                    "must be at most half of JOB_LEASE_MS ({} ms), or one late heartbeat \
                     would hand a running job to another worker",
                    lease_expiry.as_millis()
                ),
            });
        }
        let queue = QueueConfig {
            backend,
            key_prefix,
            max_attempts: parse_or(src, "JOB_MAX_ATTEMPTS", 0)?,
            retry_horizon: Duration::from_secs(positive(
                "JOB_RETRY_HORIZON_SECS",
                parse_or(src, "JOB_RETRY_HORIZON_SECS", 48 * 3600u64)?,
            )?),
            read_lag: Duration::from_secs(parse_or(src, "TIKTOK_READ_LAG_SECS", 300u64)?),
            breaker_failures: positive("BREAKER_FAILURES", parse_or(src, "BREAKER_FAILURES", 5)?)?,
            breaker_open: millis(src, "BREAKER_OPEN_MS", 5_000)?,
            retry_base: millis(src, "JOB_RETRY_BASE_MS", 1_000)?,
            retry_max: millis(src, "JOB_RETRY_MAX_MS", 300_000)?,
            lease_expiry,
            lease_renew,
            dedupe_ttl: Duration::from_secs(positive(
                "DEDUPE_TTL_SECS",
                parse_or(src, "DEDUPE_TTL_SECS", 72 * 3600u64)?,
            )?),
        };

        let tiktok = TikTokConfig {
            app_key: required(
                src,
                "TIKTOK_APP_KEY",
                "the app key from TikTok Partner Center",
            )?,
            app_secret: required(src, "TIKTOK_APP_SECRET", "signs API calls and webhooks")?.into(),
            api_base: base_url(
                src,
                "TIKTOK_API_BASE",
                "https://open-api.tiktokglobalshop.com",
            )?,
            auth_base: base_url(src, "TIKTOK_AUTH_BASE", "https://auth.tiktok-shops.com")?,
            shop_id: required(src, "TIKTOK_SHOP_ID", "the shop whose orders are synced")?,
            shop_cipher: required(
                src,
                "TIKTOK_SHOP_CIPHER",
                "from GET /authorization/202309/shops",
            )?,
            access_token: required(src, "TIKTOK_ACCESS_TOKEN", "the shop's access token")?.into(),
            refresh_token: required(
                src,
                "TIKTOK_REFRESH_TOKEN",
                "used to renew the access token",
            )?
            .into(),
            qps_per_api: positive("TIKTOK_QPS", parse_or(src, "TIKTOK_QPS", 50u32)?)?,
            timeout: millis(src, "TIKTOK_TIMEOUT_MS", 10_000)?,
        };

        let account_id = required(
            src,
            "NETSUITE_ACCOUNT_ID",
            "the account id as issued, e.g. 1234567_SB1",
        )?;
        let rest_base = base_url(
            src,
            "NETSUITE_REST_BASE",
            &netsuite_rest_base_for(&account_id),
        )?;
        let auth = match src.get("NETSUITE_AUTH").as_deref().unwrap_or("oauth2") {
            "oauth2" => {
                let key_path = required(
                    src,
                    "NETSUITE_PRIVATE_KEY",
                    "path to the PEM private key whose certificate is uploaded to NetSuite",
                )?;
                let pem = std::fs::read_to_string(&key_path).map_err(|e| ConfigError::Invalid {
                    name: "NETSUITE_PRIVATE_KEY",
                    value: key_path.clone(),
                    why: format!("cannot read the key file: {e}"),
                })?;
                if !pem.contains("PRIVATE KEY-----") {
                    return Err(ConfigError::Invalid {
                        name: "NETSUITE_PRIVATE_KEY",
                        value: key_path,
                        why: "not a PEM private key".into(),
                    });
                }
                // Empty means: pick from the key type (ES256 for EC, PS256 for RSA).
                let algorithm = src.get("NETSUITE_JWT_ALG").unwrap_or_default();
                if !matches!(
                    algorithm.as_str(),
                    "" | "PS256" | "PS384" | "PS512" | "ES256" | "ES384"
                ) {
                    return Err(ConfigError::Invalid {
                        name: "NETSUITE_JWT_ALG",
                        value: algorithm,
                        why: "NetSuite accepts PS256, PS384, PS512, ES256, ES384".into(),
                    });
                }
                NetSuiteAuth::OAuth2 {
                    client_id: required(
                        src,
                        "NETSUITE_CLIENT_ID",
                        "the integration record's client id",
                    )?,
                    certificate_id: required(
                        src,
                        "NETSUITE_CERTIFICATE_ID",
                        "the id NetSuite gave the uploaded certificate",
                    )?,
                    private_key_pem: pem.into(),
                    algorithm,
                }
            }
            "tba" => NetSuiteAuth::Tba {
                consumer_key: required(src, "NETSUITE_CONSUMER_KEY", "the integration's key")?,
                consumer_secret: required(
                    src,
                    "NETSUITE_CONSUMER_SECRET",
                    "the integration's secret",
                )?
                .into(),
                token_id: required(src, "NETSUITE_TOKEN_ID", "the access token id")?,
                token_secret: required(src, "NETSUITE_TOKEN_SECRET", "the access token secret")?
                    .into(),
            },
            other => {
                return Err(ConfigError::Invalid {
                    name: "NETSUITE_AUTH",
                    value: other.into(),
                    why: "expected oauth2 or tba".into(),
                })
            }
        };
        let netsuite = NetSuiteConfig {
            account_id,
            rest_base,
            auth,
            concurrency: positive(
                "NETSUITE_CONCURRENCY",
                parse_or(src, "NETSUITE_CONCURRENCY", 4usize)?,
            )?,
            timeout: millis(src, "NETSUITE_TIMEOUT_MS", 60_000)?,
        };

        let d = MappingConfig::default();
        let mapping = MappingConfig {
            fixed_customer_id: src.get("NETSUITE_CUSTOMER_ID"),
            subsidiary_id: src.get("NETSUITE_SUBSIDIARY_ID"),
            sku_field: {
                let f = src.get("NETSUITE_SKU_FIELD").unwrap_or(d.sku_field);
                if !f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(ConfigError::Invalid {
                        name: "NETSUITE_SKU_FIELD",
                        value: f,
                        why: "must be a plain field name (letters, digits, _)".into(),
                    });
                }
                f
            },
            shipping_item_id: src
                .get("NETSUITE_SHIPPING_ITEM_ID")
                .unwrap_or(d.shipping_item_id),
            tax_item_id: src.get("NETSUITE_TAX_ITEM_ID").unwrap_or(d.tax_item_id),
            seller_discount_item_id: src
                .get("NETSUITE_SELLER_DISCOUNT_ITEM_ID")
                .unwrap_or(d.seller_discount_item_id),
            platform_discount_item_id: src
                .get("NETSUITE_PLATFORM_DISCOUNT_ITEM_ID")
                .unwrap_or(d.platform_discount_item_id),
            warehouse_locations: pairs(src, "WAREHOUSE_LOCATIONS")?,
            default_location_id: src.get("NETSUITE_LOCATION_ID"),
            fbt_location_id: src.get("NETSUITE_FBT_LOCATION_ID"),
            order_status: src.get("NETSUITE_ORDER_STATUS").unwrap_or(d.order_status),
            carrier_map: carrier_map(src)?,
            hold_recheck: Duration::from_secs(positive(
                "ON_HOLD_RECHECK_SECS",
                parse_or(src, "ON_HOLD_RECHECK_SECS", 300u64)?,
            )?),
            returns: ReturnsConfig::from_source(src)?,
            settlement: SettlementConfig::from_source(src)?,
            charges: ChargesConfig::from_source(src)?,
        };

        Ok(Config {
            bind_addr,
            metrics_bind_addr: match src.get("METRICS_BIND_ADDR") {
                None => None,
                Some(v) => Some(v.trim().parse().map_err(|e: std::net::AddrParseError| {
                    ConfigError::Invalid {
                        name: "METRICS_BIND_ADDR",
                        value: v.clone(),
                        why: e.to_string(),
                    }
                })?),
            },
            role,
            queue,
            tiktok,
            netsuite,
            mapping,
            max_body_bytes: positive(
                "MAX_BODY_BYTES",
                parse_or(src, "MAX_BODY_BYTES", 256 * 1024usize)?,
            )?,
            http: HttpLimits::from_source(src)?,
            worker_concurrency: positive(
                "WORKER_CONCURRENCY",
                parse_or(src, "WORKER_CONCURRENCY", 16usize)?,
            )?,
            // 0 turns the catch-up poller off (e.g. a replica that should not poll).
            poll_interval: Duration::from_secs(parse_or(src, "POLL_INTERVAL_SECS", 300u64)?),
            poll_overlap: Duration::from_secs(parse_or(src, "POLL_OVERLAP_SECS", 600u64)?),
            unpark_interval: Duration::from_secs(positive(
                "UNPARK_INTERVAL_SECS",
                parse_or(src, "UNPARK_INTERVAL_SECS", 60u64)?,
            )?),
            shutdown_grace: Duration::from_secs(parse_or(src, "SHUTDOWN_GRACE_SECS", 30u64)?),
            admin_token: match src.get("ADMIN_TOKEN") {
                Some(t) => {
                    secrets::check_strong("ADMIN_TOKEN", &t)?;
                    Some(SecretString::from(t))
                }
                None => None,
            },
            consumer_name: src.get("CONSUMER_NAME").unwrap_or_else(|| {
                let host = src.get("HOSTNAME").unwrap_or_else(|| "bridge".into());
                let id = uuid::Uuid::new_v4().simple().to_string();
                format!("{host}-{}", &id[..8])
            }),
            callout_secrets: match src.get("NETSUITE_CALLOUT_SECRET") {
                // Whitespace-separated, so a rotation can list `<new> <old>`.
                Some(v) => {
                    let all: Vec<&str> = v.split_ascii_whitespace().collect();
                    for s in &all {
                        secrets::check_strong("NETSUITE_CALLOUT_SECRET", s)?;
                    }
                    all.into_iter()
                        .map(|s| SecretString::from(s.to_string()))
                        .collect()
                }
                None => Vec::new(),
            },
            inventory: inventory::InventoryConfig::from_source(src)?,
        })
    }
}

/// The environment first, then fallbacks (used to point an unconfigured bridge at the
/// built-in sandbox).
pub struct Layered<'a> {
    pub first: &'a dyn Source,
    pub then: &'a dyn Source,
}

impl Source for Layered<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.first.get(name).or_else(|| self.then.get(name))
    }
}

/// True when no TikTok or NetSuite credentials are configured at all.
pub fn has_no_credentials(src: &dyn Source) -> bool {
    [
        "TIKTOK_APP_KEY",
        "TIKTOK_APP_SECRET",
        "TIKTOK_APP_SECRET_FILE",
        "NETSUITE_ACCOUNT_ID",
        "NETSUITE_CONSUMER_KEY",
        "NETSUITE_CLIENT_ID",
    ]
    .iter()
    .all(|n| src.get(n).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> HashMap<String, String> {
        [
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("TIKTOK_APP_KEY", "k"),
            ("TIKTOK_APP_SECRET", "s"),
            ("TIKTOK_SHOP_ID", "1"),
            ("TIKTOK_SHOP_CIPHER", "c"),
            ("TIKTOK_ACCESS_TOKEN", "a"),
            ("TIKTOK_REFRESH_TOKEN", "r"),
            ("NETSUITE_ACCOUNT_ID", "1234567_SB1"),
            ("NETSUITE_AUTH", "tba"),
            ("NETSUITE_CONSUMER_KEY", "ck"),
            ("NETSUITE_CONSUMER_SECRET", "cs"),
            ("NETSUITE_TOKEN_ID", "ti"),
            ("NETSUITE_TOKEN_SECRET", "ts"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn complete_settings_load_with_defaults() {
        let c = Config::from_source(&base()).unwrap();
        assert_eq!(
            c.netsuite.rest_base,
            "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest"
        );
        assert_eq!(c.tiktok.api_base, "https://open-api.tiktokglobalshop.com");
        assert_eq!(c.max_body_bytes, 256 * 1024);
        assert_eq!(c.role, Role::All);
        assert_eq!(c.mapping.sku_field, "itemid");
    }

    #[test]
    fn a_missing_setting_is_named() {
        let mut m = base();
        m.remove("TIKTOK_APP_SECRET");
        let e = Config::from_source(&m).unwrap_err().to_string();
        assert!(e.contains("TIKTOK_APP_SECRET"), "{e}");
    }

    #[test]
    fn a_malformed_setting_is_named_with_its_value() {
        let mut m = base();
        m.insert("NETSUITE_CONCURRENCY".into(), "many".into());
        let e = Config::from_source(&m).unwrap_err().to_string();
        assert!(
            e.contains("NETSUITE_CONCURRENCY") && e.contains("many"),
            "{e}"
        );
        let mut m = base();
        m.insert("NETSUITE_CONCURRENCY".into(), "0".into());
        assert!(Config::from_source(&m).is_err());
        let mut m = base();
        m.insert("NETSUITE_AUTH".into(), "basic".into());
        assert!(Config::from_source(&m)
            .unwrap_err()
            .to_string()
            .contains("NETSUITE_AUTH"));
        let mut m = base();
        m.insert("WAREHOUSE_LOCATIONS".into(), "W1=3,broken".into());
        assert!(Config::from_source(&m)
            .unwrap_err()
            .to_string()
            .contains("WAREHOUSE_LOCATIONS"));
    }

    #[test]
    fn oauth2_needs_a_readable_key_file() {
        let mut m = base();
        m.insert("NETSUITE_AUTH".into(), "oauth2".into());
        m.insert("NETSUITE_CLIENT_ID".into(), "cid".into());
        m.insert("NETSUITE_CERTIFICATE_ID".into(), "kid".into());
        m.insert("NETSUITE_PRIVATE_KEY".into(), "/nonexistent/key.pem".into());
        let e = Config::from_source(&m).unwrap_err().to_string();
        assert!(e.contains("NETSUITE_PRIVATE_KEY"), "{e}");
    }

    #[test]
    fn redis_url_picks_redis_and_its_absence_the_embedded_backend() {
        let c = Config::from_source(&base()).unwrap();
        assert_eq!(
            c.queue.backend,
            Backend::Redis {
                url: "redis://127.0.0.1:6379".into()
            }
        );

        let mut m = base();
        m.remove("REDIS_URL");
        let c = Config::from_source(&m).unwrap();
        assert_eq!(
            c.queue.backend,
            Backend::Embedded {
                data_dir: "./data".into()
            }
        );
        m.insert("DATA_DIR".into(), "/var/lib/bridge".into());
        let c = Config::from_source(&m).unwrap();
        assert_eq!(
            c.queue.backend,
            Backend::Embedded {
                data_dir: "/var/lib/bridge".into()
            }
        );
        assert!(c.queue.backend.describe().contains("REDIS_URL"));

        let mut m = base();
        m.insert("REDIS_URL".into(), "localhost:6379".into());
        let e = Config::from_source(&m).unwrap_err().to_string();
        assert!(
            e.contains("REDIS_URL") && e.contains("localhost:6379"),
            "{e}"
        );
    }

    const STRONG: &str = "9b1f0c3e7a5d48e2b6c4f0a1d3e5b7c9";

    #[test]
    fn weak_admin_tokens_are_refused_and_not_shown() {
        for weak in ["REPLACE_ME", "changeme", "test-admin-token"] {
            let mut m = base();
            m.insert("ADMIN_TOKEN".into(), weak.into());
            let e = Config::from_source(&m).unwrap_err().to_string();
            assert!(
                e.contains("ADMIN_TOKEN") && e.contains("openssl rand -hex 32"),
                "{e}"
            );
            assert!(!e.contains(weak), "{e}");
        }
        let mut m = base();
        m.insert("ADMIN_TOKEN".into(), STRONG.into());
        assert!(Config::from_source(&m).unwrap().admin_token.is_some());
        m.remove("ADMIN_TOKEN");
        assert!(Config::from_source(&m).unwrap().admin_token.is_none());
    }

    #[test]
    fn weak_callout_secrets_are_refused_even_one_of_a_rotating_pair() {
        for weak in ["REPLACE_ME", "changeme", "only-twenty-bytes-ok"] {
            let mut m = base();
            m.insert("NETSUITE_CALLOUT_SECRET".into(), weak.into());
            let e = Config::from_source(&m).unwrap_err().to_string();
            assert!(e.contains("NETSUITE_CALLOUT_SECRET"), "{e}");
            assert!(!e.contains(weak), "{e}");
        }
        let mut m = base();
        m.insert(
            "NETSUITE_CALLOUT_SECRET".into(),
            format!("{STRONG} old-short-one"),
        );
        let e = Config::from_source(&m).unwrap_err().to_string();
        assert!(
            e.contains("13 bytes") && !e.contains("old-short-one"),
            "{e}"
        );
        m.insert(
            "NETSUITE_CALLOUT_SECRET".into(),
            format!("{STRONG} {STRONG}x"),
        );
        assert_eq!(Config::from_source(&m).unwrap().callout_secrets.len(), 2);
    }

    #[test]
    fn secrets_can_come_from_files_but_not_from_both() {
        use secrecy::ExposeSecret;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin_token");
        std::fs::write(&path, format!("{STRONG}\n")).unwrap();
        let mut m = base();
        m.insert("ADMIN_TOKEN_FILE".into(), path.display().to_string());
        let c = Config::from_source(&m).unwrap();
        assert_eq!(c.admin_token.unwrap().expose_secret(), STRONG);

        let weak = dir.path().join("weak");
        std::fs::write(&weak, "REPLACE_ME\n").unwrap();
        m.insert("ADMIN_TOKEN_FILE".into(), weak.display().to_string());
        let e = Config::from_source(&m).unwrap_err().to_string();
        assert!(e.contains("placeholder"), "{e}");

        m.insert("ADMIN_TOKEN_FILE".into(), "/nonexistent/secret".into());
        let e = Config::from_source(&m).unwrap_err().to_string();
        assert!(
            e.contains("ADMIN_TOKEN") && e.contains("/nonexistent/secret"),
            "{e}"
        );

        m.insert("ADMIN_TOKEN_FILE".into(), path.display().to_string());
        m.insert("ADMIN_TOKEN".into(), STRONG.into());
        let e = Config::from_source(&m).unwrap_err().to_string();
        assert!(e.contains("not both"), "{e}");

        let secret_file = dir.path().join("app_secret");
        std::fs::write(&secret_file, "from-a-file").unwrap();
        let mut m = base();
        m.remove("TIKTOK_APP_SECRET");
        m.insert(
            "TIKTOK_APP_SECRET_FILE".into(),
            secret_file.display().to_string(),
        );
        let c = Config::from_source(&m).unwrap();
        assert_eq!(c.tiktok.app_secret.expose_secret(), "from-a-file");
        assert!(!has_no_credentials(&HashMap::from([(
            "TIKTOK_APP_SECRET_FILE".to_string(),
            "x".to_string()
        )])));
    }

    #[test]
    fn a_redis_url_typo_does_not_show_its_password() {
        let mut m = base();
        m.insert(
            "REDIS_URL".into(),
            "redis//bridge:Pa55-w0rd-9731@redis:6379".into(),
        );
        let e = Config::from_source(&m).unwrap_err().to_string();
        assert!(e.contains("REDIS_URL") && e.contains("redis:6379"), "{e}");
        assert!(!e.contains("Pa55-w0rd-9731"), "{e}");
        m.insert(
            "REDIS_URL".into(),
            "redis://bridge:Pa55-w0rd-9731@redis:6379".into(),
        );
        let c = Config::from_source(&m).unwrap();
        assert!(!format!("{c:?}").contains("Pa55-w0rd-9731"));
    }

    #[test]
    fn warehouse_map_parses() {
        let mut m = base();
        m.insert("WAREHOUSE_LOCATIONS".into(), "W1=3, W2=4".into());
        let c = Config::from_source(&m).unwrap();
        assert_eq!(c.mapping.warehouse_locations["W2"], "4");
    }
}
