//! Inventory settings (flow I1). Off unless `INVENTORY_LOCATIONS` names the NetSuite
//! locations whose stock a shop may sell: which warehouses feed TikTok is a business decision
//! the bridge must not guess, and a wrong guess lists stock that does not exist.

use super::{ConfigError, Source};
use crate::inventory::sellable::AllocationRule;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct InventoryConfig {
    /// NetSuite location ids summed into the shop's sellable quantity; empty = sync off.
    pub locations: Vec<String>,
    /// Units held back from TikTok per SKU.
    pub safety_buffer: u32,
    pub rule: AllocationRule,
    /// Quiet time after the last change before a push (trailing debounce).
    pub debounce: Duration,
    /// Longest a change waits for the burst around it to end; bounds freshness.
    pub max_delay: Duration,
    /// NetSuite requests the stock reads may have in flight on their own lane, on top of
    /// `NETSUITE_CONCURRENCY`; 0 shares the order flow's slots (reads then queue behind
    /// sales-order writes).
    pub netsuite_concurrency: usize,
    /// Full reconcile period; zero turns the timer off.
    pub reconcile_interval: Duration,
    /// Sweep period (items whose availability changed since the last sweep, by SuiteQL);
    /// zero turns the sweep off.
    pub sweep_interval: Duration,
    /// TikTok product ids the reconcile reads besides those learned from orders.
    pub product_ids: Vec<String>,
    /// TikTok warehouses run by TikTok (FBT): SKUs stocked there are never pushed.
    pub fbt_warehouses: Vec<String>,
    /// Kit / item group SKU → (component SKU, quantity per kit).
    pub kits: BTreeMap<String, Vec<(String, Decimal)>>,
}

impl Default for InventoryConfig {
    fn default() -> Self {
        InventoryConfig {
            locations: Vec::new(),
            safety_buffer: 0,
            rule: AllocationRule::NONE,
            debounce: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            netsuite_concurrency: 1,
            reconcile_interval: Duration::from_secs(3600),
            sweep_interval: Duration::from_secs(60),
            product_ids: Vec::new(),
            fbt_warehouses: Vec::new(),
            kits: BTreeMap::new(),
        }
    }
}

impl InventoryConfig {
    pub fn enabled(&self) -> bool {
        !self.locations.is_empty()
    }

    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let d = InventoryConfig::default();
        let percent = match src.get("INVENTORY_MAX_PERCENT") {
            None => None,
            Some(v) => {
                let p = Decimal::from_str(v.trim())
                    .map_err(|e| invalid("INVENTORY_MAX_PERCENT", &v, e))?;
                if p < Decimal::ZERO || p > Decimal::ONE_HUNDRED {
                    return Err(invalid(
                        "INVENTORY_MAX_PERCENT",
                        &v,
                        "must be between 0 and 100",
                    ));
                }
                Some(p)
            }
        };
        let max_listed = match src.get("INVENTORY_MAX_LISTED") {
            None => None,
            Some(v) => Some(
                v.trim()
                    .parse::<u32>()
                    .map_err(|e| invalid("INVENTORY_MAX_LISTED", &v, e))?,
            ),
        };
        let ms = |name: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            match src.get(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .map(Duration::from_millis)
                    .map_err(|e| invalid(name, &v, e)),
            }
        };
        let debounce = ms("INVENTORY_DEBOUNCE_MS", d.debounce)?;
        let max_delay = ms("INVENTORY_MAX_DELAY_MS", d.max_delay)?.max(debounce);
        let reconcile_interval = match src.get("INVENTORY_RECONCILE_SECS") {
            None => d.reconcile_interval,
            Some(v) => Duration::from_secs(
                v.trim()
                    .parse::<u64>()
                    .map_err(|e| invalid("INVENTORY_RECONCILE_SECS", &v, e))?,
            ),
        };
        // Seconds, fractions allowed (the benchmark runs a compressed clock).
        let sweep_interval = match src.get("INVENTORY_SWEEP_SECS") {
            None => d.sweep_interval,
            Some(v) => match v.trim().parse::<f64>() {
                Ok(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => {
                    Duration::from_secs_f64(s)
                }
                Ok(_) => {
                    return Err(invalid(
                        "INVENTORY_SWEEP_SECS",
                        &v,
                        "must be between 0 and 86400 seconds",
                    ))
                }
                Err(e) => return Err(invalid("INVENTORY_SWEEP_SECS", &v, e)),
            },
        };
        Ok(InventoryConfig {
            locations: list(src, "INVENTORY_LOCATIONS"),
            safety_buffer: match src.get("INVENTORY_SAFETY_BUFFER") {
                None => 0,
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|e| invalid("INVENTORY_SAFETY_BUFFER", &v, e))?,
            },
            rule: AllocationRule {
                percent,
                max_listed,
            },
            debounce,
            max_delay,
            netsuite_concurrency: match src.get("INVENTORY_NETSUITE_CONCURRENCY") {
                None => d.netsuite_concurrency,
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|e| invalid("INVENTORY_NETSUITE_CONCURRENCY", &v, e))?,
            },
            reconcile_interval,
            sweep_interval,
            product_ids: list(src, "INVENTORY_PRODUCT_IDS"),
            fbt_warehouses: list(src, "INVENTORY_FBT_WAREHOUSES"),
            kits: match src.get("INVENTORY_KITS") {
                None => BTreeMap::new(),
                Some(v) => parse_kits(&v).map_err(|why| invalid("INVENTORY_KITS", &v, why))?,
            },
        })
    }
}

fn invalid(name: &'static str, value: &str, why: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.to_string(),
        why: why.to_string(),
    }
}

fn list(src: &dyn Source, name: &str) -> Vec<String> {
    let mut out: Vec<String> = src
        .get(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    out.dedup();
    out
}

/// `KIT=COMP:2+OTHER:1;KIT2=...` (quantity defaults to 1).
pub fn parse_kits(v: &str) -> Result<BTreeMap<String, Vec<(String, Decimal)>>, String> {
    let mut kits = BTreeMap::new();
    for def in v.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let (kit, comps) = def
            .split_once('=')
            .ok_or_else(|| format!("expected KIT=COMPONENT:QTY+..., got {def:?}"))?;
        let mut components = Vec::new();
        for c in comps.split('+').map(str::trim).filter(|s| !s.is_empty()) {
            let (sku, qty) = match c.split_once(':') {
                Some((s, q)) => (
                    s.trim(),
                    Decimal::from_str(q.trim()).map_err(|e| format!("{c:?}: {e}"))?,
                ),
                None => (c, Decimal::ONE),
            };
            if qty <= Decimal::ZERO {
                return Err(format!("{c:?}: quantity per kit must be positive"));
            }
            components.push((sku.to_string(), qty));
        }
        if components.is_empty() {
            return Err(format!("kit {kit:?} has no components"));
        }
        kits.insert(kit.trim().to_string(), components);
    }
    Ok(kits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<InventoryConfig, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        InventoryConfig::from_source(&m)
    }

    #[test]
    fn off_without_locations_and_parsed_with_them() {
        assert!(!cfg(&[]).unwrap().enabled());
        let c = cfg(&[
            ("INVENTORY_LOCATIONS", "1, 2"),
            ("INVENTORY_SAFETY_BUFFER", "3"),
            ("INVENTORY_MAX_PERCENT", "80"),
            ("INVENTORY_MAX_LISTED", "500"),
            ("INVENTORY_DEBOUNCE_MS", "50"),
            ("INVENTORY_RECONCILE_SECS", "0"),
            ("INVENTORY_SWEEP_SECS", "5"),
            ("INVENTORY_KITS", "KIT=A:2+B"),
        ])
        .unwrap();
        assert!(c.enabled());
        assert_eq!(c.locations, ["1", "2"]);
        assert_eq!(c.safety_buffer, 3);
        assert_eq!(c.rule.percent, Some(dec!(80)));
        assert_eq!(c.rule.max_listed, Some(500));
        assert_eq!(c.debounce, Duration::from_millis(50));
        assert!(c.reconcile_interval.is_zero());
        assert_eq!(c.sweep_interval, Duration::from_secs(5));
        assert_eq!(cfg(&[]).unwrap().sweep_interval, Duration::from_secs(60));
        assert_eq!(
            c.kits["KIT"],
            vec![("A".to_string(), dec!(2)), ("B".to_string(), dec!(1))]
        );
    }

    #[test]
    fn bad_values_name_the_setting() {
        for (name, value) in [
            ("INVENTORY_MAX_PERCENT", "120"),
            ("INVENTORY_MAX_LISTED", "-1"),
            ("INVENTORY_SAFETY_BUFFER", "x"),
            ("INVENTORY_SWEEP_SECS", "1m"),
            ("INVENTORY_SWEEP_SECS", "-1"),
            ("INVENTORY_KITS", "KIT=A:0"),
            ("INVENTORY_KITS", "nonsense"),
        ] {
            let err = cfg(&[(name, value)]).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }
}
