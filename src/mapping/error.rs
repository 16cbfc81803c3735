//! What can stop an order from becoming a sales order, and how the job runner should treat it.

use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MappingError {
    /// UNPAID, ON_HOLD, CANCELLED or a status we do not know: not a failure, the order is
    /// simply not (yet) NetSuite's business. The caller decides whether to skip or wait.
    /// `status` is TikTok's own spelling (`OrderStatus::as_str`), e.g. `ON_HOLD`.
    #[error("order status {status} is not importable")]
    NotImportable { status: String },
    /// NetSuite has no item for these seller SKUs yet; sorted and deduplicated.
    #[error("no NetSuite item for seller SKU(s): {}", skus.join(", "))]
    UnknownSkus { skus: Vec<String> },
    #[error("line item {line_item_id} has no seller_sku")]
    MissingSku { line_item_id: String },
    #[error("NetSuite lines total {computed}{} but TikTok total_amount is {expected}", computed_without_fees.map(|w| format!(" ({w} without market fees)")).unwrap_or_default())]
    TotalsMismatch {
        expected: Decimal,
        computed: Decimal,
        /// The same without the market fees, when the order has any (`mapping::charges`).
        computed_without_fees: Option<Decimal>,
    },
    /// `CURRENCY_MAP` is set and does not name the order's currency.
    #[error("CURRENCY_MAP has no NetSuite currency for {currency:?}")]
    UnmappedCurrency { currency: String },
    #[error("order is missing {0}")]
    MissingField(&'static str),
    #[error("FBT order but no FBT location is configured")]
    MissingFbtLocation,
}

impl MappingError {
    /// True when retrying the same order with the same configuration cannot succeed.
    /// `UnknownSkus` is not permanent: the item may be created in NetSuite, so the job parks.
    /// `NotImportable` is not a failure at all; callers should match it before asking this.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::NotImportable { .. } | Self::UnknownSkus { .. } => false,
            Self::MissingSku { .. }
            | Self::TotalsMismatch { .. }
            | Self::UnmappedCurrency { .. }
            | Self::MissingField(_)
            | Self::MissingFbtLocation => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn only_data_and_config_errors_are_permanent() {
        let permanent = [
            MappingError::MissingSku {
                line_item_id: "1".into(),
            },
            MappingError::TotalsMismatch {
                expected: dec!(1.00),
                computed: dec!(1.01),
                computed_without_fees: None,
            },
            MappingError::MissingField("payment.total_amount"),
            MappingError::MissingFbtLocation,
        ];
        for e in permanent {
            assert!(e.is_permanent(), "{e} should be permanent");
        }
        let transient = [
            MappingError::UnknownSkus {
                skus: vec!["A".into()],
            },
            MappingError::NotImportable {
                status: "ON_HOLD".into(),
            },
        ];
        for e in transient {
            assert!(!e.is_permanent(), "{e} should not be permanent");
        }
    }

    #[test]
    fn messages_name_the_status_and_skus() {
        let e = MappingError::NotImportable {
            status: "UNPAID".into(),
        };
        assert_eq!(e.to_string(), "order status UNPAID is not importable");
        let e = MappingError::UnknownSkus {
            skus: vec!["A".into(), "B".into()],
        };
        assert_eq!(e.to_string(), "no NetSuite item for seller SKU(s): A, B");
    }
}
