//! `SETTLEMENT_ACCOUNTS`: which general-ledger account each TikTok amount lands on. Every
//! name TikTok publishes belongs to a group (commission, transaction fees, ...); a group's
//! account is the default for its names, and a name can be given its own account. A name
//! the map has never heard of goes to the "other TikTok fees" account and is reported.

use std::collections::BTreeMap;
use std::fmt;

/// The groups of the account map, in the order the README lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// Asset: what TikTok owes between sale and payout. Revenue is booked here.
    Clearing,
    /// Bank, or "TikTok payouts in transit": where the settlement amount goes.
    Payout,
    Commission,
    TransactionFees,
    Affiliate,
    Shipping,
    Promotions,
    FeeTaxes,
    Adjustments,
    Reserves,
    /// Names nobody mapped, and amounts TikTok did not itemize.
    Other,
    /// The difference left by rounding account totals to the currency's minor unit.
    Rounding,
    /// Bank account the payout finally reaches (payout recording); defaults to `payout`.
    Bank,
}

impl Group {
    pub const ALL: [Group; 13] = [
        Group::Clearing,
        Group::Payout,
        Group::Commission,
        Group::TransactionFees,
        Group::Affiliate,
        Group::Shipping,
        Group::Promotions,
        Group::FeeTaxes,
        Group::Adjustments,
        Group::Reserves,
        Group::Other,
        Group::Rounding,
        Group::Bank,
    ];

    /// The key in `SETTLEMENT_ACCOUNTS`.
    pub fn key(self) -> &'static str {
        match self {
            Group::Clearing => "clearing",
            Group::Payout => "payout",
            Group::Commission => "commission",
            Group::TransactionFees => "transaction_fees",
            Group::Affiliate => "affiliate",
            Group::Shipping => "shipping",
            Group::Promotions => "promotions",
            Group::FeeTaxes => "fee_taxes",
            Group::Adjustments => "adjustments",
            Group::Reserves => "reserves",
            Group::Other => "other",
            Group::Rounding => "rounding",
            Group::Bank => "bank",
        }
    }

    /// Words for journal line memos.
    pub fn label(self) -> &'static str {
        match self {
            Group::Clearing => "TikTok revenue",
            Group::Payout => "TikTok settlement",
            Group::Commission => "TikTok commission",
            Group::TransactionFees => "TikTok transaction fees",
            Group::Affiliate => "TikTok affiliate commissions",
            Group::Shipping => "TikTok shipping costs",
            Group::Promotions => "TikTok promotion fees",
            Group::FeeTaxes => "Taxes on TikTok fees",
            Group::Adjustments => "TikTok adjustments",
            Group::Reserves => "TikTok reserves",
            Group::Other => "Other TikTok fees",
            Group::Rounding => "Rounding",
            Group::Bank => "TikTok payout",
        }
    }

    pub fn from_key(key: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.key() == key)
    }

    /// The group whose account stands in when this one has none. `clearing`, `payout` and
    /// `other` have none: they must be configured.
    fn fallback(self) -> Option<Group> {
        match self {
            Group::Clearing | Group::Payout | Group::Other => None,
            // Money TikTok holds back is still owed by TikTok.
            Group::Reserves => Some(Group::Clearing),
            Group::Bank => Some(Group::Payout),
            _ => Some(Group::Other),
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// `revenue_breakdown` names (finance reference). All of it is revenue: booked to clearing.
pub const REVENUE_NAMES: &[&str] = &[
    "subtotal_before_discount_amount",
    "refund_subtotal_before_discount_amount",
    "seller_discount_amount",
    "seller_discount_refund_amount",
    "cod_service_fee_amount",
    "refund_cod_service_fee_amount",
    "distant_item_fee_amount",
];

/// `shipping_cost_breakdown` names.
pub const SHIPPING_NAMES: &[&str] = &[
    "actual_shipping_fee_amount",
    "shipping_fee_discount_amount",
    "customer_paid_shipping_fee_amount",
    "return_shipping_fee_amount",
    "replacement_shipping_fee_amount",
    "exchange_shipping_fee_amount",
    "signature_confirmation_fee_amount",
    "shipping_insurance_fee_amount",
    "fbt_fulfillment_fee_reimbursement_amount",
    "return_shipping_label_fee_amount",
    "failed_delivery_subsidy_amount",
    "return_shipping_fee_paid_buyer_amount",
    "seller_self_shipping_service_fee_amount",
];

/// `fee_tax_breakdown.fee` names, by group.
pub const FEE_NAMES: &[(&str, Group)] = &[
    ("platform_commission_amount", Group::Commission),
    ("referral_fee_amount", Group::Commission),
    ("dynamic_commission_amount", Group::Commission),
    ("fee_per_item_sold_amount", Group::Commission),
    ("mall_service_fee_amount", Group::Commission),
    ("tsp_commission_amount", Group::Commission),
    ("transaction_fee_amount", Group::TransactionFees),
    ("credit_card_handling_fee_amount", Group::TransactionFees),
    ("refund_administration_fee_amount", Group::TransactionFees),
    (
        "seller_paylater_handling_fee_amount",
        Group::TransactionFees,
    ),
    ("dt_handling_fee_amount", Group::TransactionFees),
    ("affiliate_commission_amount", Group::Affiliate),
    ("affiliate_partner_commission_amount", Group::Affiliate),
    ("affiliate_ads_commission_amount", Group::Affiliate),
    ("external_affiliate_marketing_fee_amount", Group::Affiliate),
    ("affiliate_commission_amount_before_pit", Group::Affiliate),
    ("cofunded_creator_bonus_amount", Group::Affiliate),
    ("tap_shop_ads_commission", Group::Affiliate),
    ("sfp_service_fee_amount", Group::Promotions),
    ("live_specials_fee_amount", Group::Promotions),
    ("voucher_xtra_service_fee_amount", Group::Promotions),
    ("flash_sales_service_fee_amount", Group::Promotions),
    ("cofunded_promotion_service_fee_amount", Group::Promotions),
    ("pre_order_service_fee_amount", Group::Promotions),
    ("bonus_cashback_service_fee_amount", Group::Promotions),
    ("gmv_max_ad_fee_amount", Group::Promotions),
    ("insurance_fee", Group::Shipping),
    ("failed_delivery_shipping_fee", Group::Shipping),
    ("buyer_fault_return_shipping_fee", Group::Shipping),
];

/// `fee_tax_breakdown.tax` names: taxes on fees (VAT/GST/withholding, duties).
pub const TAX_NAMES: &[&str] = &[
    "vat_amount",
    "gst_amount",
    "sst_amount",
    "pit_amount",
    "isr_amount",
    "iva_amount",
    "local_vat_amount",
    "import_vat_amount",
    "customs_duty_amount",
    "customs_clearance_amount",
    "anti_dumping_duty_amount",
];

/// The group TikTok's own name belongs to, if the bridge knows it.
pub fn known_group(name: &str) -> Option<Group> {
    if REVENUE_NAMES.contains(&name) {
        return Some(Group::Clearing);
    }
    if SHIPPING_NAMES.contains(&name) {
        return Some(Group::Shipping);
    }
    if TAX_NAMES.contains(&name) {
        return Some(Group::FeeTaxes);
    }
    FEE_NAMES.iter().find(|(n, _)| *n == name).map(|(_, g)| *g)
}

/// NetSuite segments put on every line when configured (`SETTLEMENT_CLASS_ID`, ...).
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Dimensions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// Where an amount goes: its account and the group it was booked under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub account: String,
    pub group: Group,
    /// False when neither the bridge nor the map knows the name: booked to `other`.
    pub known: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountMap {
    groups: BTreeMap<Group, String>,
    /// Account per TikTok name (a fee field, or an adjustment type), overriding its group.
    names: BTreeMap<String, String>,
    pub dimensions: Dimensions,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountMapError {
    #[error("expected name=account pairs separated by commas, got {0:?}")]
    Malformed(String),
    #[error("{0:?} has an empty account id")]
    EmptyAccount(String),
    #[error("the {0} account is required (set {0}=<internal id>)")]
    Missing(Group),
}

impl AccountMap {
    /// Reads `clearing=1200,payout=1010,other=6990,commission=6100,platform_commission_amount=6101`.
    /// Keys are group names or TikTok names; `clearing`, `payout` and `other` are required.
    pub fn parse(spec: &str) -> Result<AccountMap, AccountMapError> {
        let mut groups = BTreeMap::new();
        let mut names = BTreeMap::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| AccountMapError::Malformed(part.to_string()))?;
            let (k, v) = (k.trim(), v.trim());
            if k.is_empty() {
                return Err(AccountMapError::Malformed(part.to_string()));
            }
            if v.is_empty() {
                return Err(AccountMapError::EmptyAccount(k.to_string()));
            }
            match Group::from_key(k) {
                Some(g) => groups.insert(g, v.to_string()),
                None => names.insert(k.to_string(), v.to_string()),
            };
        }
        for required in [Group::Clearing, Group::Payout, Group::Other] {
            if !groups.contains_key(&required) {
                return Err(AccountMapError::Missing(required));
            }
        }
        Ok(AccountMap {
            groups,
            names,
            dimensions: Dimensions::default(),
        })
    }

    pub fn with_dimensions(mut self, dimensions: Dimensions) -> Self {
        self.dimensions = dimensions;
        self
    }

    /// The account of a group, following fallbacks to a configured one.
    pub fn account(&self, group: Group) -> &str {
        let mut g = group;
        loop {
            if let Some(a) = self.groups.get(&g) {
                return a;
            }
            match g.fallback() {
                Some(next) => g = next,
                // `parse` guarantees the roots exist.
                None => return "",
            }
        }
    }

    /// Where a TikTok name goes: its own account, else its group's; an unknown name goes to
    /// `other` and says so.
    pub fn resolve(&self, name: &str) -> Resolved {
        let group = known_group(name);
        if let Some(account) = self.names.get(name) {
            return Resolved {
                account: account.clone(),
                group: group.unwrap_or(Group::Other),
                known: true,
            };
        }
        match group {
            Some(g) => Resolved {
                account: self.account(g).to_string(),
                group: g,
                known: true,
            },
            None => Resolved {
                account: self.account(Group::Other).to_string(),
                group: Group::Other,
                known: false,
            },
        }
    }

    /// An adjustment of TikTok type `kind` (CHARGE_BACK, PLATFORM_PENALTY, ...): its own
    /// account when the map names the type, else the adjustments account. Adjustment types
    /// are open-ended by nature, so an unnamed one is not a review case.
    pub fn adjustment(&self, kind: &str) -> Resolved {
        let account = self
            .names
            .get(kind)
            .cloned()
            .unwrap_or_else(|| self.account(Group::Adjustments).to_string());
        Resolved {
            account,
            group: Group::Adjustments,
            known: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_default_their_names_and_names_override_groups() {
        let m = AccountMap::parse(
            "clearing=1200, payout=1010, other=6990, commission=6100, platform_commission_amount=6101",
        )
        .unwrap();
        assert_eq!(m.resolve("platform_commission_amount").account, "6101");
        assert_eq!(m.resolve("referral_fee_amount").account, "6100");
        // No affiliate account configured: the group falls back to other, still known.
        let r = m.resolve("affiliate_commission_amount");
        assert_eq!((r.account.as_str(), r.known), ("6990", true));
        assert_eq!(m.resolve("subtotal_before_discount_amount").account, "1200");
        // Reserves default to clearing, the bank to payout.
        assert_eq!(m.account(Group::Reserves), "1200");
        assert_eq!(m.account(Group::Bank), "1010");
        let unknown = m.resolve("brand_new_fee_amount");
        assert_eq!((unknown.account.as_str(), unknown.known), ("6990", false));
    }

    #[test]
    fn malformed_or_incomplete_maps_are_refused() {
        assert_eq!(
            AccountMap::parse("clearing=1,payout=2"),
            Err(AccountMapError::Missing(Group::Other))
        );
        assert!(matches!(
            AccountMap::parse("clearing=1,payout=2,other=3,commission"),
            Err(AccountMapError::Malformed(_))
        ));
        assert!(matches!(
            AccountMap::parse("clearing=1,payout=2,other="),
            Err(AccountMapError::EmptyAccount(_))
        ));
    }

    #[test]
    fn every_name_of_the_reference_has_a_group() {
        // The names the finance reference lists by name, fees and shipping alike.
        let reference = [
            "platform_commission_amount",
            "referral_fee_amount",
            "transaction_fee_amount",
            "credit_card_handling_fee_amount",
            "affiliate_commission_amount",
            "affiliate_partner_commission_amount",
            "affiliate_ads_commission_amount",
            "sfp_service_fee_amount",
            "live_specials_fee_amount",
            "voucher_xtra_service_fee_amount",
            "flash_sales_service_fee_amount",
            "cofunded_promotion_service_fee_amount",
            "pre_order_service_fee_amount",
            "refund_administration_fee_amount",
            "fee_per_item_sold_amount",
            "dynamic_commission_amount",
            "external_affiliate_marketing_fee_amount",
            "gmv_max_ad_fee_amount",
            "insurance_fee",
            "failed_delivery_shipping_fee",
            "buyer_fault_return_shipping_fee",
            "subtotal_before_discount_amount",
            "refund_subtotal_before_discount_amount",
            "seller_discount_amount",
            "seller_discount_refund_amount",
            "cod_service_fee_amount",
            "refund_cod_service_fee_amount",
            "distant_item_fee_amount",
            "actual_shipping_fee_amount",
            "shipping_fee_discount_amount",
            "customer_paid_shipping_fee_amount",
            "return_shipping_fee_amount",
            "replacement_shipping_fee_amount",
            "exchange_shipping_fee_amount",
            "signature_confirmation_fee_amount",
            "shipping_insurance_fee_amount",
            "fbt_fulfillment_fee_reimbursement_amount",
            "return_shipping_label_fee_amount",
            "failed_delivery_subsidy_amount",
        ];
        for name in reference {
            assert!(known_group(name).is_some(), "{name} has no group");
        }
    }
}
