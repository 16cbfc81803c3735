//! Order fixtures in the Orders API's own JSON shape: one line item per unit, decimal
//! strings for money, and a `payment` whose totals obey the identities of reference §5.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One level of a buyer address (`recipient_address.district_info[]` in Get Order Detail).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DistrictInfo {
    #[serde(default)]
    pub address_level_name: Option<String>,
    #[serde(default)]
    pub address_name: Option<String>,
    #[serde(default)]
    pub address_level: Option<String>,
}

/// `recipient_address` of an order, as the Orders API documents it.
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

/// One SKU of a sample order; expands to `quantity` line items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleLine {
    pub seller_sku: String,
    pub sku_id: String,
    pub product_id: String,
    pub unit_price: Decimal,
    pub quantity: u32,
    /// Per unit, funded by the seller.
    #[serde(default)]
    pub seller_discount: Decimal,
    /// Per unit, funded by TikTok.
    #[serde(default)]
    pub platform_discount: Decimal,
}

impl SampleLine {
    /// A line without discounts; ids derived from the SKU so fixtures stay short.
    pub fn new(seller_sku: &str, unit_price: Decimal, quantity: u32) -> Self {
        let digits: u64 = seller_sku
            .bytes()
            .fold(1_729_000_000_000_000_000u64, |acc, b| {
                acc.wrapping_mul(31).wrapping_add(b as u64) % 9_000_000_000_000_000_000
                    + 1_000_000_000_000_000_000
            });
        SampleLine {
            seller_sku: seller_sku.to_string(),
            sku_id: digits.to_string(),
            product_id: (digits / 1000 * 1000).to_string(),
            unit_price,
            quantity,
            seller_discount: Decimal::ZERO,
            platform_discount: Decimal::ZERO,
        }
    }

    pub fn with_discounts(mut self, seller: Decimal, platform: Decimal) -> Self {
        self.seller_discount = seller;
        self.platform_discount = platform;
        self
    }
}

/// Everything about a sample order that is not its lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SampleOrderOptions {
    pub currency: String,
    /// Before shipping discounts.
    pub shipping_fee: Decimal,
    pub shipping_fee_seller_discount: Decimal,
    pub shipping_fee_platform_discount: Decimal,
    /// Applied to what the buyer pays for products (sub_total) and for shipping.
    pub tax_rate: Decimal,
    pub retail_delivery_fee: Decimal,
    pub user_id: String,
    pub warehouse_id: String,
    pub fulfillment_type: String,
    pub shipping_type: String,
    /// Unix seconds; `None` means now.
    pub create_time: Option<i64>,
    pub recipient_address: RecipientAddress,
}

impl Default for SampleOrderOptions {
    fn default() -> Self {
        SampleOrderOptions {
            currency: "USD".into(),
            shipping_fee: dec!(5.99),
            shipping_fee_seller_discount: Decimal::ZERO,
            shipping_fee_platform_discount: Decimal::ZERO,
            tax_rate: dec!(0.0725),
            retail_delivery_fee: Decimal::ZERO,
            user_id: "7494062235146273045".into(),
            warehouse_id: "7068517275539719942".into(),
            fulfillment_type: "FULFILLMENT_BY_SELLER".into(),
            // The seller's own carrier: the orders F1 pushes NetSuite tracking for.
            shipping_type: "SELLER".into(),
            create_time: None,
            recipient_address: sample_address(),
        }
    }
}

/// A plausible US address (fictional) with the district levels TikTok sends.
pub fn sample_address() -> RecipientAddress {
    let level = |level: &str, name: &str, value: &str| DistrictInfo {
        address_level: Some(level.into()),
        address_level_name: Some(name.into()),
        address_name: Some(value.into()),
    };
    RecipientAddress {
        name: Some("Jane Doe".into()),
        first_name: Some("Jane".into()),
        last_name: Some("Doe".into()),
        phone_number: Some("(+1)2135550100".into()),
        address_line1: Some("1200 Sunset Blvd".into()),
        address_line2: Some("Apt 4".into()),
        address_line3: Some(String::new()),
        address_line4: Some(String::new()),
        postal_code: Some("90028".into()),
        region_code: Some("US".into()),
        full_address: Some("1200 Sunset Blvd, Apt 4, Los Angeles, California, 90028".into()),
        district_info: vec![
            level("L0", "country", "United States"),
            level("L1", "State", "California"),
            level("L2", "County", "Los Angeles County"),
            level("L3", "City", "Los Angeles"),
        ],
    }
}

fn money(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `sample_order_with` using default options.
pub fn sample_order(order_id: &str, status: &str, lines: &[SampleLine]) -> Value {
    sample_order_with(order_id, status, lines, &SampleOrderOptions::default())
}

/// An order as Get Order Detail returns it.
pub fn sample_order_with(
    order_id: &str,
    status: &str,
    lines: &[SampleLine],
    opts: &SampleOrderOptions,
) -> Value {
    let create_time = opts.create_time.unwrap_or_else(now_unix);
    let mut line_items = Vec::new();
    let mut original_total = Decimal::ZERO;
    let mut seller_discount = Decimal::ZERO;
    let mut platform_discount = Decimal::ZERO;
    let mut product_tax = Decimal::ZERO;
    for line in lines {
        let sale_price = line.unit_price - line.seller_discount - line.platform_discount;
        // Tax per unit, rounded per unit as a per-line-item tax would be; the order's
        // product tax is their sum so the two never disagree by a cent.
        let unit_tax = (sale_price * opts.tax_rate).round_dp(2);
        for _ in 0..line.quantity {
            let n = line_items.len() + 1;
            line_items.push(json!({
                "id": format!("{order_id}{n:03}"),
                "sku_id": line.sku_id,
                "product_id": line.product_id,
                "seller_sku": line.seller_sku,
                "product_name": format!("Sample product {}", line.seller_sku),
                "sku_name": line.seller_sku,
                "currency": opts.currency,
                "original_price": money(line.unit_price),
                "sale_price": money(sale_price),
                "seller_discount": money(line.seller_discount),
                "platform_discount": money(line.platform_discount),
                "package_status": "TO_FULFILL",
                "display_status": status,
                "tracking_number": "",
                "is_gift": false,
                "item_tax": [{
                    "tax_type": "SALES_TAX",
                    "tax_amount": money(unit_tax),
                    "tax_rate": opts.tax_rate.normalize().to_string(),
                }],
            }));
            original_total += line.unit_price;
            seller_discount += line.seller_discount;
            platform_discount += line.platform_discount;
            product_tax += unit_tax;
        }
    }
    let sub_total = original_total - seller_discount - platform_discount;
    let shipping_fee =
        opts.shipping_fee - opts.shipping_fee_seller_discount - opts.shipping_fee_platform_discount;
    let shipping_fee_tax = (shipping_fee * opts.tax_rate).round_dp(2);
    let tax = product_tax + shipping_fee_tax;
    let total_amount = sub_total + shipping_fee + tax + opts.retail_delivery_fee;

    let paid = !matches!(status, "UNPAID");
    json!({
        "id": order_id,
        "status": status,
        "create_time": create_time,
        "paid_time": if paid { json!(create_time + 5) } else { Value::Null },
        "update_time": create_time,
        "shipping_due_time": create_time + 3 * 86_400,
        "fulfillment_type": opts.fulfillment_type,
        "shipping_type": opts.shipping_type,
        "warehouse_id": opts.warehouse_id,
        "delivery_option_id": "7091146663229654785",
        "delivery_option_name": "Standard shipping",
        "packages": [],
        "user_id": opts.user_id,
        "buyer_email": format!("v{}@scs2.tiktok.com", opts.user_id),
        "buyer_message": "",
        "recipient_address": opts.recipient_address,
        "payment": {
            "currency": opts.currency,
            "original_total_product_price": money(original_total),
            "seller_discount": money(seller_discount),
            "platform_discount": money(platform_discount),
            "sub_total": money(sub_total),
            "original_shipping_fee": money(opts.shipping_fee),
            "shipping_fee_seller_discount": money(opts.shipping_fee_seller_discount),
            "shipping_fee_platform_discount": money(opts.shipping_fee_platform_discount),
            "shipping_fee": money(shipping_fee),
            "product_tax": money(product_tax),
            "shipping_fee_tax": money(shipping_fee_tax),
            "tax": money(tax),
            "retail_delivery_fee": money(opts.retail_delivery_fee),
            "total_amount": money(total_amount),
        },
        "line_items": line_items,
        "is_on_hold_order": status == "ON_HOLD",
        "is_replacement_order": false,
        "order_type": "NORMAL",
        "cancel_reason": "",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Vec<SampleLine> {
        vec![
            SampleLine::new("TSHIRT-RED-M", dec!(19.99), 2).with_discounts(dec!(2.00), dec!(1.50)),
            SampleLine::new("MUG-BLUE", dec!(12.50), 1),
        ]
    }

    fn amount(v: &Value) -> Decimal {
        v.as_str()
            .expect("money is a decimal string")
            .parse()
            .unwrap()
    }

    #[test]
    fn one_line_item_per_unit() {
        let order = sample_order("576486316948490001", "AWAITING_SHIPMENT", &lines());
        let items = order["line_items"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        let ids: std::collections::HashSet<_> =
            items.iter().map(|l| l["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 3, "line item ids must be unique");
        assert_eq!(items[0]["sku_id"], items[1]["sku_id"]);
    }

    #[test]
    fn payment_obeys_reference_identities() {
        let opts = SampleOrderOptions {
            shipping_fee_seller_discount: dec!(1.00),
            shipping_fee_platform_discount: dec!(0.99),
            retail_delivery_fee: dec!(0.28),
            ..SampleOrderOptions::default()
        };
        let order = sample_order_with("576486316948490002", "AWAITING_SHIPMENT", &lines(), &opts);
        let p = &order["payment"];
        let v = |k: &str| amount(&p[k]);
        assert_eq!(v("original_total_product_price"), dec!(52.48));
        assert_eq!(
            v("sub_total"),
            v("original_total_product_price") - v("seller_discount") - v("platform_discount")
        );
        assert_eq!(v("sub_total"), dec!(45.48));
        assert_eq!(
            v("shipping_fee"),
            v("original_shipping_fee")
                - v("shipping_fee_seller_discount")
                - v("shipping_fee_platform_discount")
        );
        assert_eq!(v("tax"), v("product_tax") + v("shipping_fee_tax"));
        assert_eq!(
            v("total_amount"),
            v("sub_total") + v("shipping_fee") + v("tax") + v("retail_delivery_fee")
        );
        let line_tax: Decimal = order["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|l| l["item_tax"].as_array().cloned().unwrap_or_default())
            .map(|t| amount(&t["tax_amount"]))
            .sum();
        assert_eq!(line_tax, v("product_tax"));
    }

    #[test]
    fn money_is_sent_as_two_decimal_strings() {
        let v = sample_order("1", "UNPAID", &[SampleLine::new("A", dec!(10), 1)]);
        assert_eq!(v["payment"]["sub_total"], "10.00");
        assert_eq!(v["line_items"][0]["original_price"], "10.00");
        assert!(v["paid_time"].is_null());
    }
}
