//! Where the amounts of a TikTok order's `payment` beyond products, discounts, shipping and
//! tax land in NetSuite (market fees, insurance, payment-platform discounts), how exactly
//! the sales order must tie to TikTok's `total_amount`, the market's tax convention and the
//! currency map. The rules themselves are in `mapping::charges`.

use super::{pairs, ConfigError, Source};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// Every `payment` field a merchant may point at its own NetSuite item with
/// `NETSUITE_FEE_ITEMS` (`field=item id`). Unlisted fees go to `NETSUITE_FEE_ITEM_ID`.
pub const ROUTABLE_FIELDS: &[&str] = &[
    "handling_fee",
    "shipping_insurance_fee",
    "item_insurance_fee",
    "item_insurance_tax",
    "buyer_service_fee",
    "small_order_fee",
    "retail_delivery_fee",
    "distance_shipping_fee",
    "distance_fee",
    "payment_platform_discount",
    "payment_discount_service_fee",
    "shipping_fee_cofunded_discount",
];

#[derive(Debug, Clone, PartialEq)]
pub struct ChargesConfig {
    /// `NETSUITE_FEE_ITEM_ID`: the item buyer-paid market fees land on together (default
    /// `tiktok-fees`).
    pub fee_item_id: String,
    /// `NETSUITE_FEE_ITEMS`: `handling_fee=12,buyer_service_fee=13`; a field named here
    /// gets its own item instead of the default for its kind.
    pub field_items: HashMap<String, String>,
    /// `TOTALS_TOLERANCE`: the largest difference to `total_amount` accepted, booked on the
    /// rounding item (default 0: the total must tie exactly).
    pub totals_tolerance: Decimal,
    /// `NETSUITE_ROUNDING_ITEM_ID`: where an accepted difference lands (default `rounding`).
    pub rounding_item_id: String,
    /// `MARKET_PRICES_INCLUDE_TAX`: prices already include tax (VAT markets: UK, EU); the
    /// order's tax is recorded on the sales order, not added as a line (default false).
    pub prices_include_tax: bool,
    /// `CURRENCY_MAP`: `USD=1,GBP=2`, ISO code → NetSuite currency internal id. Empty: the
    /// sales order takes the customer's currency.
    pub currency_map: HashMap<String, String>,
}

impl Default for ChargesConfig {
    fn default() -> Self {
        ChargesConfig {
            fee_item_id: "tiktok-fees".into(),
            field_items: HashMap::new(),
            totals_tolerance: Decimal::ZERO,
            rounding_item_id: "rounding".into(),
            prices_include_tax: false,
            currency_map: HashMap::new(),
        }
    }
}

impl ChargesConfig {
    /// The item a routable `field` lands on: its own when `NETSUITE_FEE_ITEMS` names one,
    /// else `default`.
    pub fn item_for(&self, field: &str, default: &str) -> String {
        self.field_items
            .get(field)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }

    pub fn from_source(src: &dyn Source) -> Result<ChargesConfig, ConfigError> {
        let d = ChargesConfig::default();
        let field_items = pairs(src, "NETSUITE_FEE_ITEMS")?;
        for (field, item) in &field_items {
            if !ROUTABLE_FIELDS.contains(&field.as_str()) || item.is_empty() {
                return Err(ConfigError::Invalid {
                    name: "NETSUITE_FEE_ITEMS",
                    value: format!("{field}={item}"),
                    why: format!(
                        "expected <payment field>=<item id> with a field among {}",
                        ROUTABLE_FIELDS.join(", ")
                    ),
                });
            }
        }
        let totals_tolerance = match src.get("TOTALS_TOLERANCE") {
            None => Decimal::ZERO,
            Some(v) => match v.trim().parse::<Decimal>() {
                Ok(t) if t >= Decimal::ZERO => t,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "TOTALS_TOLERANCE",
                        value: v,
                        why: "expected a non-negative decimal amount such as 0.01".into(),
                    })
                }
            },
        };
        let prices_include_tax = match src
            .get("MARKET_PRICES_INCLUDE_TAX")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("") | Some("false") | Some("0") | Some("no") => false,
            Some("true") | Some("1") | Some("yes") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "MARKET_PRICES_INCLUDE_TAX",
                    value: other.into(),
                    why: "expected true or false".into(),
                })
            }
        };
        let currency_map = pairs(src, "CURRENCY_MAP")?
            .into_iter()
            .map(|(k, v)| (k.to_ascii_uppercase(), v))
            .collect::<HashMap<_, _>>();
        if let Some((k, v)) = currency_map
            .iter()
            .find(|(k, v)| k.len() != 3 || v.is_empty())
        {
            return Err(ConfigError::Invalid {
                name: "CURRENCY_MAP",
                value: format!("{k}={v}"),
                why: "expected <ISO 4217 code>=<NetSuite currency id>, e.g. GBP=2".into(),
            });
        }
        Ok(ChargesConfig {
            fee_item_id: src
                .get("NETSUITE_FEE_ITEM_ID")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .unwrap_or(d.fee_item_id),
            field_items,
            totals_tolerance,
            rounding_item_id: src
                .get("NETSUITE_ROUNDING_ITEM_ID")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .unwrap_or(d.rounding_item_id),
            prices_include_tax,
            currency_map,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn src(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(
            ChargesConfig::from_source(&src(&[])).unwrap(),
            ChargesConfig::default()
        );
        let c = ChargesConfig::from_source(&src(&[
            ("NETSUITE_FEE_ITEM_ID", "70"),
            (
                "NETSUITE_FEE_ITEMS",
                "handling_fee=71, item_insurance_tax=72",
            ),
            ("TOTALS_TOLERANCE", "0.02"),
            ("NETSUITE_ROUNDING_ITEM_ID", "73"),
            ("MARKET_PRICES_INCLUDE_TAX", "true"),
            ("CURRENCY_MAP", "usd=1,GBP=2"),
        ]))
        .unwrap();
        assert_eq!(c.fee_item_id, "70");
        assert_eq!(c.field_items["handling_fee"], "71");
        assert_eq!(c.field_items["item_insurance_tax"], "72");
        assert_eq!(c.totals_tolerance, dec!(0.02));
        assert_eq!(c.rounding_item_id, "73");
        assert!(c.prices_include_tax);
        assert_eq!(c.currency_map["USD"], "1");
        assert_eq!(c.currency_map["GBP"], "2");
    }

    #[test]
    fn malformed_settings_name_themselves() {
        for (name, value) in [
            ("NETSUITE_FEE_ITEMS", "tip=5"),
            ("TOTALS_TOLERANCE", "-0.01"),
            ("TOTALS_TOLERANCE", "a cent"),
            ("MARKET_PRICES_INCLUDE_TAX", "sometimes"),
            ("CURRENCY_MAP", "POUND=2"),
        ] {
            let e = ChargesConfig::from_source(&src(&[(name, value)]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(name), "{name}={value}: {e}");
        }
    }
}
