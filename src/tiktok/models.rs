//! TikTok Shop API payloads the bridge reads, parsed at the boundary: ids are strings
//! (numbers taken by their literal digits), money is decimal, enums are open.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};

/// Deserialize an id that TikTok sends either as a string or as a (possibly 21-digit)
/// number. With serde_json's `arbitrary_precision` the number keeps its literal digits.
pub fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    match v {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected an id string or number, got {other}"
        ))),
    }
}

pub fn opt_id_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected an id string or number, got {other}"
        ))),
    }
}

/// Order status as the Orders API reports it. Topic 1 says `CANCEL` where the API says
/// `CANCELLED`; both map to `Cancelled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum OrderStatus {
    Unpaid,
    OnHold,
    AwaitingShipment,
    PartiallyShipping,
    AwaitingCollection,
    InTransit,
    Delivered,
    Completed,
    Cancelled,
    Other(String),
}

impl OrderStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "UNPAID" => Self::Unpaid,
            "ON_HOLD" => Self::OnHold,
            "AWAITING_SHIPMENT" => Self::AwaitingShipment,
            "PARTIALLY_SHIPPING" => Self::PartiallyShipping,
            "AWAITING_COLLECTION" => Self::AwaitingCollection,
            "IN_TRANSIT" => Self::InTransit,
            "DELIVERED" => Self::Delivered,
            "COMPLETED" => Self::Completed,
            "CANCELLED" | "CANCEL" => Self::Cancelled,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Unpaid => "UNPAID",
            Self::OnHold => "ON_HOLD",
            Self::AwaitingShipment => "AWAITING_SHIPMENT",
            Self::PartiallyShipping => "PARTIALLY_SHIPPING",
            Self::AwaitingCollection => "AWAITING_COLLECTION",
            Self::InTransit => "IN_TRANSIT",
            Self::Delivered => "DELIVERED",
            Self::Completed => "COMPLETED",
            Self::Cancelled => "CANCELLED",
            Self::Other(s) => s,
        }
    }

    /// Paid and past the remorse window: the order belongs in NetSuite.
    pub fn is_importable(&self) -> bool {
        matches!(
            self,
            Self::AwaitingShipment
                | Self::PartiallyShipping
                | Self::AwaitingCollection
                | Self::InTransit
                | Self::Delivered
                | Self::Completed
        )
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for OrderStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::parse(&s))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FulfillmentType {
    BySeller,
    ByTikTok,
    Other(String),
}

impl<'de> Deserialize<'de> for FulfillmentType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "FULFILLMENT_BY_SELLER" => Self::BySeller,
            "FULFILLMENT_BY_TIKTOK" => Self::ByTikTok,
            _ => Self::Other(s),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Payment {
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub sub_total: Option<Decimal>,
    #[serde(default)]
    pub shipping_fee: Option<Decimal>,
    #[serde(default)]
    pub seller_discount: Option<Decimal>,
    #[serde(default)]
    pub platform_discount: Option<Decimal>,
    #[serde(default)]
    pub total_amount: Option<Decimal>,
    #[serde(default)]
    pub original_total_product_price: Option<Decimal>,
    #[serde(default)]
    pub original_shipping_fee: Option<Decimal>,
    #[serde(default)]
    pub shipping_fee_seller_discount: Option<Decimal>,
    #[serde(default)]
    pub shipping_fee_platform_discount: Option<Decimal>,
    #[serde(default)]
    pub tax: Option<Decimal>,
    #[serde(default)]
    pub product_tax: Option<Decimal>,
    #[serde(default)]
    pub shipping_fee_tax: Option<Decimal>,
    #[serde(default)]
    pub retail_delivery_fee: Option<Decimal>,
    // Market fees and discounts the buyer pays or is spared (see `mapping::charges` for
    // where each lands and the two readings of `total_amount`).
    #[serde(default)]
    pub shipping_fee_cofunded_discount: Option<Decimal>,
    #[serde(default)]
    pub payment_platform_discount: Option<Decimal>,
    #[serde(default)]
    pub payment_discount_service_fee: Option<Decimal>,
    #[serde(default)]
    pub handling_fee: Option<Decimal>,
    #[serde(default)]
    pub shipping_insurance_fee: Option<Decimal>,
    #[serde(default)]
    pub item_insurance_fee: Option<Decimal>,
    #[serde(default)]
    pub item_insurance_tax: Option<Decimal>,
    #[serde(default)]
    pub buyer_service_fee: Option<Decimal>,
    #[serde(default)]
    pub small_order_fee: Option<Decimal>,
    #[serde(default)]
    pub distance_shipping_fee: Option<Decimal>,
    #[serde(default)]
    pub distance_fee: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemTax {
    #[serde(default)]
    pub tax_type: Option<String>,
    #[serde(default)]
    pub tax_amount: Option<Decimal>,
    #[serde(default)]
    pub tax_rate: Option<Decimal>,
}

/// One unit of one SKU (TikTok sends a line item per unit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(deserialize_with = "id_string")]
    pub sku_id: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub product_id: Option<String>,
    #[serde(default)]
    pub seller_sku: String,
    #[serde(default)]
    pub product_name: Option<String>,
    #[serde(default)]
    pub sku_name: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    pub original_price: Decimal,
    #[serde(default)]
    pub sale_price: Option<Decimal>,
    #[serde(default)]
    pub seller_discount: Option<Decimal>,
    #[serde(default)]
    pub platform_discount: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub package_id: Option<String>,
    #[serde(default)]
    pub package_status: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub item_tax: Vec<ItemTax>,
    #[serde(default)]
    pub is_gift: bool,
    #[serde(default)]
    pub display_status: Option<String>,
    /// A virtual bundle (combined listing): the SKUs it is made of, `sku_count` each.
    #[serde(default)]
    pub combined_listing_skus: Vec<CombinedListingSku>,
}

/// One component of a combined listing (virtual bundle) line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CombinedListingSku {
    #[serde(default, deserialize_with = "opt_id_string")]
    pub sku_id: Option<String>,
    #[serde(default = "one")]
    pub sku_count: u32,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub product_id: Option<String>,
    #[serde(default)]
    pub seller_sku: String,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DistrictInfo {
    #[serde(default)]
    pub address_level_name: Option<String>,
    #[serde(default)]
    pub address_name: Option<String>,
    #[serde(default)]
    pub address_level: Option<String>,
}

/// Buyer's shipping address (PII: never log it).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RecipientAddress {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub address_line1: Option<String>,
    #[serde(default)]
    pub address_line2: Option<String>,
    #[serde(default)]
    pub address_line3: Option<String>,
    #[serde(default)]
    pub address_line4: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub region_code: Option<String>,
    #[serde(default)]
    pub full_address: Option<String>,
    #[serde(default)]
    pub district_info: Vec<DistrictInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageRef {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
}

/// An order as Get Order Detail / Search Orders return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    pub status: OrderStatus,
    #[serde(default)]
    pub create_time: Option<i64>,
    #[serde(default)]
    pub paid_time: Option<i64>,
    #[serde(default)]
    pub update_time: Option<i64>,
    #[serde(default)]
    pub shipping_due_time: Option<i64>,
    #[serde(default)]
    pub fulfillment_type: Option<FulfillmentType>,
    #[serde(default)]
    pub shipping_type: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub warehouse_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub delivery_option_id: Option<String>,
    #[serde(default)]
    pub packages: Vec<PackageRef>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub user_id: Option<String>,
    #[serde(default)]
    pub buyer_email: Option<String>,
    #[serde(default)]
    pub buyer_message: Option<String>,
    #[serde(default)]
    pub recipient_address: Option<RecipientAddress>,
    #[serde(default)]
    pub payment: Payment,
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    #[serde(default)]
    pub is_on_hold_order: bool,
    #[serde(default)]
    pub is_replacement_order: bool,
    #[serde(default)]
    pub cancel_reason: Option<String>,
    /// The order this one replaces (`is_replacement_order`).
    #[serde(default, deserialize_with = "opt_id_string")]
    pub replaced_order_id: Option<String>,
    /// `NORMAL`, `PRE_ORDER`, `MADE_TO_ORDER`, … (open).
    #[serde(default)]
    pub order_type: Option<String>,
    #[serde(default)]
    pub is_sample_order: bool,
    /// A pre-order's release: the day TikTok moves it from ON_HOLD to AWAITING_SHIPMENT.
    #[serde(default)]
    pub release_date: Option<i64>,
}

/// Filters and paging for Search Orders, sorted by `update_time` ascending so a poller can
/// walk a window from old to new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSearch {
    /// Unix seconds, inclusive.
    pub update_time_ge: Option<i64>,
    /// Unix seconds, exclusive.
    pub update_time_lt: Option<i64>,
    pub order_status: Option<String>,
    /// 1 to 100.
    pub page_size: u32,
    pub page_token: Option<String>,
}

impl Default for OrderSearch {
    fn default() -> Self {
        OrderSearch {
            update_time_ge: None,
            update_time_lt: None,
            order_status: None,
            page_size: 50,
            page_token: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderSearchPage {
    pub orders: Vec<Order>,
    /// `None` on the last page (TikTok sends an empty string there).
    pub next_page_token: Option<String>,
    pub total_count: u64,
}

/// A shop the app is authorized for (Get Authorized Shops); `cipher` is its `shop_cipher`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizedShop {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub seller_type: Option<String>,
    pub cipher: String,
    #[serde(default)]
    pub code: Option<String>,
}
