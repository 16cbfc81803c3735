//! Settlement to the general ledger (flow S1): the account map, segments, currencies, how
//! the payout is recorded, and the timer's window. Off unless `SETTLEMENT_ACCOUNTS` is set.

use super::{ConfigError, Source};
use crate::settlement::{AccountMap, Dimensions};
use std::collections::BTreeMap;
use std::time::Duration;

/// How a PAID statement's payout is recorded in NetSuite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutRecord {
    /// A journal entry from the payout ("in transit") account to the bank account.
    Journal,
    /// A NetSuite `transfer` between the two accounts.
    Transfer,
    /// Not recorded (the payout account is the bank itself, or a person reconciles it).
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementConfig {
    /// `SETTLEMENT_ACCOUNTS`; `None` turns flow S1 off.
    pub accounts: Option<AccountMap>,
    /// `SETTLEMENT_CURRENCIES`: ISO code → NetSuite currency internal id (`USD=1,GBP=2`).
    /// Empty: entries carry no currency (the subsidiary's own).
    pub currencies: BTreeMap<String, String>,
    /// `SETTLEMENT_PAYOUT_RECORD`: `journal` (default), `transfer` or `none`.
    pub payout_record: PayoutRecord,
    /// `SETTLEMENT_POLL_SECS` (default 3600): how often the timer looks for statements.
    pub poll_interval: Duration,
    /// `SETTLEMENT_OVERLAP_SECS` (default 7 days): how far back each look starts before the
    /// previous one ended, so a statement paid days later is seen changed.
    pub overlap: Duration,
    /// `SETTLEMENT_FIRST_WINDOW_SECS` (default 30 days): the very first look.
    pub first_window: Duration,
    /// `SETTLEMENT_PAGE_SIZE` (default 100, at most 100): transactions per page read.
    pub page_size: u32,
    /// `SETTLEMENT_UNSETTLED_DAYS` (default 14): a sales order older than this with no
    /// settlement is listed by the reconciliation view.
    pub unsettled_after: Duration,
}

impl Default for SettlementConfig {
    fn default() -> Self {
        SettlementConfig {
            accounts: None,
            currencies: BTreeMap::new(),
            payout_record: PayoutRecord::Journal,
            poll_interval: Duration::from_secs(3600),
            overlap: Duration::from_secs(7 * 86_400),
            first_window: Duration::from_secs(30 * 86_400),
            page_size: 100,
            unsettled_after: Duration::from_secs(14 * 86_400),
        }
    }
}

fn secs(src: &dyn Source, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
    match src.get(name) {
        None => Ok(Duration::from_secs(default)),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Duration::from_secs(n)),
            _ => Err(ConfigError::Invalid {
                name,
                value: v,
                why: "expected a whole number of seconds above zero".into(),
            }),
        },
    }
}

impl SettlementConfig {
    pub fn enabled(&self) -> bool {
        self.accounts.is_some()
    }

    pub fn from_source(src: &dyn Source) -> Result<SettlementConfig, ConfigError> {
        let d = SettlementConfig::default();
        let dimensions = Dimensions {
            class: src.get("SETTLEMENT_CLASS_ID"),
            department: src.get("SETTLEMENT_DEPARTMENT_ID"),
            location: src.get("SETTLEMENT_LOCATION_ID"),
        };
        let accounts = match src.get("SETTLEMENT_ACCOUNTS") {
            None => None,
            Some(v) => Some(
                AccountMap::parse(&v)
                    .map_err(|e| ConfigError::Invalid {
                        name: "SETTLEMENT_ACCOUNTS",
                        value: v.clone(),
                        why: e.to_string(),
                    })?
                    .with_dimensions(dimensions),
            ),
        };
        let mut currencies = BTreeMap::new();
        if let Some(v) = src.get("SETTLEMENT_CURRENCIES") {
            for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match part.split_once('=') {
                    Some((code, id))
                        if code.trim().len() == 3
                            && code.trim().chars().all(|c| c.is_ascii_alphabetic())
                            && !id.trim().is_empty() =>
                    {
                        currencies.insert(code.trim().to_ascii_uppercase(), id.trim().to_string());
                    }
                    _ => {
                        return Err(ConfigError::Invalid {
                            name: "SETTLEMENT_CURRENCIES",
                            value: v.clone(),
                            why: format!("expected ISO=<NetSuite currency id> pairs, got {part:?}"),
                        })
                    }
                }
            }
        }
        let payout_record = match src
            .get("SETTLEMENT_PAYOUT_RECORD")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("journal") => PayoutRecord::Journal,
            Some("transfer") => PayoutRecord::Transfer,
            Some("none") => PayoutRecord::None,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "SETTLEMENT_PAYOUT_RECORD",
                    value: other.into(),
                    why: "expected journal, transfer or none".into(),
                })
            }
        };
        let page_size = match src.get("SETTLEMENT_PAGE_SIZE") {
            None => d.page_size,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "SETTLEMENT_PAGE_SIZE",
                        value: v,
                        why: "expected 1 to 100".into(),
                    })
                }
            },
        };
        Ok(SettlementConfig {
            accounts,
            currencies,
            payout_record,
            poll_interval: secs(src, "SETTLEMENT_POLL_SECS", 3600)?,
            overlap: secs(src, "SETTLEMENT_OVERLAP_SECS", 7 * 86_400)?,
            first_window: secs(src, "SETTLEMENT_FIRST_WINDOW_SECS", 30 * 86_400)?,
            page_size,
            unsettled_after: Duration::from_secs(
                secs(src, "SETTLEMENT_UNSETTLED_DAYS", 14)?.as_secs() * 86_400,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn src(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn off_by_default_and_on_with_an_account_map() {
        let off = SettlementConfig::from_source(&src(&[])).unwrap();
        assert!(!off.enabled());
        let on = SettlementConfig::from_source(&src(&[
            ("SETTLEMENT_ACCOUNTS", "clearing=1,payout=2,other=3"),
            ("SETTLEMENT_CURRENCIES", "usd=1, GBP=2"),
            ("SETTLEMENT_CLASS_ID", "7"),
            ("SETTLEMENT_PAYOUT_RECORD", "transfer"),
        ]))
        .unwrap();
        assert!(on.enabled());
        assert_eq!(on.currencies["USD"], "1");
        assert_eq!(on.payout_record, PayoutRecord::Transfer);
        assert_eq!(on.accounts.unwrap().dimensions.class.as_deref(), Some("7"));
    }

    #[test]
    fn malformed_settings_say_which_one() {
        for (name, value) in [
            ("SETTLEMENT_ACCOUNTS", "clearing=1"),
            ("SETTLEMENT_CURRENCIES", "dollars=1"),
            ("SETTLEMENT_PAYOUT_RECORD", "cheque"),
            ("SETTLEMENT_PAGE_SIZE", "500"),
            ("SETTLEMENT_POLL_SECS", "0"),
        ] {
            let err = SettlementConfig::from_source(&src(&[(name, value)])).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}
