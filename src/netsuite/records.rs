//! NetSuite REST record bodies the bridge writes. Field names follow the 2026.1 REST schema.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A reference to another record: `{"id": "<internal id>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRef {
    pub id: String,
}

impl RecordRef {
    pub fn new(id: impl Into<String>) -> Self {
        RecordRef { id: id.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sublist<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addressee: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<RecordRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr_phone: Option<String>,
}

/// One sales order line. Money is sent as JSON numbers with exact decimal digits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesOrderLine {
    pub item: RecordRef,
    #[serde(with = "rust_decimal::serde::float")]
    pub quantity: Decimal,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub rate: Decimal,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub amount: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<RecordRef>,
    /// `custcol_tiktok_sku_id`: ties the line back to TikTok for shipping and cancels.
    #[serde(
        rename = "custcol_tiktok_sku_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub tiktok_sku_id: Option<String>,
}

/// Body of `PUT /record/v1/salesOrder/eid:<externalId>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesOrder {
    #[serde(rename = "externalId")]
    pub external_id: String,
    pub entity: RecordRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subsidiary: Option<RecordRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<RecordRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<RecordRef>,
    #[serde(rename = "orderStatus")]
    pub order_status: RecordRef,
    #[serde(rename = "otherRefNum")]
    pub other_ref_num: String,
    /// `custbody_tiktok_order_id`.
    #[serde(rename = "custbody_tiktok_order_id")]
    pub tiktok_order_id: String,
    #[serde(rename = "tranDate", skip_serializing_if = "Option::is_none")]
    pub tran_date: Option<String>,
    #[serde(rename = "shippingAddress", skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    pub item: Sublist<SalesOrderLine>,
}

/// Body of `PUT /record/v1/customer/eid:<externalId>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    #[serde(rename = "externalId")]
    pub external_id: String,
    #[serde(rename = "companyName", skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(rename = "firstName", skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "lastName", skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "isPerson")]
    pub is_person: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subsidiary: Option<RecordRef>,
}
