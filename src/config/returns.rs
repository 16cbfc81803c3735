//! How TikTok returns and refunds become NetSuite records (flow O3): which record a
//! completed refund becomes, where received goods are restocked, and whether a refund-only
//! return gets a return authorization.

use super::{ConfigError, Source};

/// The NetSuite record a completed TikTok refund becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundRecord {
    /// `creditMemo`: transformed from the return authorization when there is one.
    CreditMemo,
    /// `customerRefund`: money paid back to the customer, keyed by the return id.
    CustomerRefund,
}

impl RefundRecord {
    /// The REST record type name.
    pub fn record_type(self) -> &'static str {
        match self {
            RefundRecord::CreditMemo => "creditMemo",
            RefundRecord::CustomerRefund => "customerRefund",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnsConfig {
    /// `RETURNS_REFUND_RECORD`: `creditmemo` (default) or `customerrefund`.
    pub refund_record: RefundRecord,
    /// `RETURNS_RESTOCK_LOCATION_ID`: where item receipts put returned goods; unset, the
    /// sales order line's own location.
    pub restock_location_id: Option<String>,
    /// `RETURNS_REFUND_ONLY_AUTHORIZATION`: also create a return authorization for a
    /// refund-only return (no goods come back, so never an item receipt). Default false.
    pub refund_only_authorization: bool,
}

impl Default for ReturnsConfig {
    fn default() -> Self {
        ReturnsConfig {
            refund_record: RefundRecord::CreditMemo,
            restock_location_id: None,
            refund_only_authorization: false,
        }
    }
}

impl ReturnsConfig {
    pub fn from_source(src: &dyn Source) -> Result<ReturnsConfig, ConfigError> {
        let refund_record = match src
            .get("RETURNS_REFUND_RECORD")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("") | Some("creditmemo") => RefundRecord::CreditMemo,
            Some("customerrefund") => RefundRecord::CustomerRefund,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "RETURNS_REFUND_RECORD",
                    value: other.into(),
                    why: "expected creditmemo or customerrefund".into(),
                })
            }
        };
        let refund_only_authorization = match src
            .get("RETURNS_REFUND_ONLY_AUTHORIZATION")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("") | Some("false") | Some("0") | Some("no") => false,
            Some("true") | Some("1") | Some("yes") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "RETURNS_REFUND_ONLY_AUTHORIZATION",
                    value: other.into(),
                    why: "expected true or false".into(),
                })
            }
        };
        Ok(ReturnsConfig {
            refund_record,
            restock_location_id: src
                .get("RETURNS_RESTOCK_LOCATION_ID")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
            refund_only_authorization,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_and_overrides() {
        let empty: HashMap<String, String> = HashMap::new();
        assert_eq!(
            ReturnsConfig::from_source(&empty).unwrap(),
            ReturnsConfig::default()
        );
        let set: HashMap<String, String> = [
            ("RETURNS_REFUND_RECORD", "CustomerRefund"),
            ("RETURNS_RESTOCK_LOCATION_ID", " 12 "),
            ("RETURNS_REFUND_ONLY_AUTHORIZATION", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = ReturnsConfig::from_source(&set).unwrap();
        assert_eq!(c.refund_record, RefundRecord::CustomerRefund);
        assert_eq!(c.restock_location_id.as_deref(), Some("12"));
        assert!(c.refund_only_authorization);
    }

    #[test]
    fn unknown_values_name_the_setting() {
        let bad: HashMap<String, String> =
            [("RETURNS_REFUND_RECORD".to_string(), "cash".to_string())].into();
        let e = ReturnsConfig::from_source(&bad).unwrap_err().to_string();
        assert!(e.contains("RETURNS_REFUND_RECORD"), "{e}");
    }
}
