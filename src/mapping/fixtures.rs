//! Test orders in the real Get Order Detail shape: ids and money as strings, one line item
//! per unit, address hidden unless the test adds it.

use crate::config::MappingConfig;
use crate::tiktok::models::Order;
use serde_json::{json, Value};
use std::collections::HashMap;

/// One unit of `seller_sku` at `price` (a decimal string), no discounts or tax.
pub fn unit(line_id: &str, seller_sku: &str, price: &str) -> Value {
    json!({
        "id": line_id,
        "sku_id": format!("sku-{seller_sku}"),
        "product_id": "1729385769392017409",
        "seller_sku": seller_sku,
        "product_name": format!("Product {seller_sku}"),
        "sku_name": "Default",
        "currency": "USD",
        "original_price": price,
        "sale_price": price,
        "seller_discount": "0",
        "platform_discount": "0",
        "item_tax": [],
        "is_gift": false,
        "display_status": "AWAITING_SHIPMENT"
    })
}

/// An AWAITING_SHIPMENT, seller-fulfilled order with the given line items and payment block.
pub fn order_json(line_items: Vec<Value>, payment: Value) -> Value {
    json!({
        "id": "576486316948490001",
        "status": "AWAITING_SHIPMENT",
        "create_time": 1_709_164_000,
        "paid_time": 1_709_164_800,
        "update_time": 1_709_168_400,
        "fulfillment_type": "FULFILLMENT_BY_SELLER",
        "shipping_type": "TIKTOK",
        "warehouse_id": "7282736480092571435",
        "user_id": "7494845936287622343",
        "buyer_email": "v2abc@scs.tiktokw.us",
        "payment": payment,
        "line_items": line_items,
        "is_on_hold_order": false,
        "is_replacement_order": false
    })
}

/// Payment with only subtotal and total set (no shipping, discounts or tax).
pub fn plain_payment(total: &str) -> Value {
    json!({
        "currency": "USD",
        "original_total_product_price": total,
        "sub_total": total,
        "shipping_fee": "0",
        "original_shipping_fee": "0",
        "seller_discount": "0",
        "platform_discount": "0",
        "shipping_fee_seller_discount": "0",
        "shipping_fee_platform_discount": "0",
        "tax": "0",
        "total_amount": total
    })
}

pub fn order(v: Value) -> Order {
    serde_json::from_value(v).expect("fixture order parses")
}

/// seller_sku -> NetSuite item id for every SKU letter the tests use.
pub fn items() -> HashMap<String, String> {
    ["A", "B", "C", "GIFT"]
        .iter()
        .enumerate()
        .map(|(i, s)| (s.to_string(), format!("{}", 100 + i)))
        .collect()
}

pub fn cfg() -> MappingConfig {
    MappingConfig {
        subsidiary_id: Some("1".into()),
        default_location_id: Some("9".into()),
        ..MappingConfig::default()
    }
}
