//! Fulfillment, logistics, cancellation and return calls (reference §6, §8), as methods on
//! `TikTokClient` over its generic `call_api`, with the payloads they exchange.

use super::client::{TikTokClient, TikTokError};
use super::models::{id_string, opt_id_string};
use http::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// TikTok's "package already shipped": a second ship call for a package must not fail a
/// job that already did its work, so it becomes `ShipOutcome::AlreadyShipped`.
pub const CODE_PACKAGE_ALREADY_SHIPPED: i64 = 11_006_021;
/// Cancellations search takes `page_size` 1–50.
pub const MAX_CANCELLATION_PAGE_SIZE: u32 = 50;
/// Returns search takes `page_size` 10–50.
pub const MIN_RETURN_PAGE_SIZE: u32 = 10;
pub const MAX_RETURN_PAGE_SIZE: u32 = 50;

pub fn mark_package_shipped_path(order_id: &str) -> String {
    format!("/fulfillment/202309/orders/{order_id}/packages")
}

pub fn ship_package_path(package_id: &str) -> String {
    format!("/fulfillment/202309/packages/{package_id}/ship")
}

pub fn update_shipping_info_path(package_id: &str) -> String {
    format!("/fulfillment/202309/packages/{package_id}/shipping_info/update")
}

pub fn shipping_providers_path(delivery_option_id: &str) -> String {
    format!("/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers")
}

pub const CANCELLATIONS_SEARCH_PATH: &str = "/return_refund/202309/cancellations/search";
pub const RETURNS_SEARCH_PATH: &str = "/return_refund/202309/returns/search";

/// Tracking for one package: what every ship/update call carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracking {
    pub tracking_number: String,
    pub shipping_provider_id: String,
}

/// Body of Mark Package As Shipped: the order lines in this package plus its tracking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkShippedRequest {
    pub order_line_item_ids: Vec<String>,
    pub tracking_number: String,
    pub shipping_provider_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct MarkShippedResult {
    #[serde(default, deserialize_with = "id_string")]
    pub package_id: String,
    /// TikTok's non-fatal remarks (e.g. a tracking number it could not verify yet).
    #[serde(default)]
    pub warning: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HandoverMethod {
    Pickup,
    DropOff,
}

#[derive(Serialize)]
struct ShipBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    handover_method: Option<HandoverMethod>,
    self_shipment: &'a Tracking,
}

/// What a ship call did. Already shipped is a result, not an error, so pushing the same
/// fulfillment twice is harmless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShipOutcome {
    Shipped,
    AlreadyShipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingProvider {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
struct ProvidersData {
    #[serde(default)]
    shipping_providers: Vec<ShippingProvider>,
}

/// Filters of Search Cancellations; empty lists and `None` are left out of the body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CancellationSearch {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cancel_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cancel_types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_status: Option<String>,
    #[serde(skip)]
    pub page_size: u32,
    #[serde(skip)]
    pub page_token: Option<String>,
}

/// Filters of Search Returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReturnSearch {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub return_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub return_types: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub return_status: Vec<String>,
    #[serde(skip)]
    pub page_size: u32,
    #[serde(skip)]
    pub page_token: Option<String>,
}

/// Money as TikTok sends it; amounts stay strings until someone needs to add them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RefundAmount {
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub refund_total: Option<String>,
    /// Products refunded, after their discounts.
    #[serde(default)]
    pub refund_subtotal: Option<String>,
    #[serde(default)]
    pub refund_shipping_fee: Option<String>,
    #[serde(default)]
    pub refund_tax: Option<String>,
    #[serde(default)]
    pub retail_delivery_fee: Option<String>,
    #[serde(default)]
    pub buyer_service_fee: Option<String>,
}

/// A partial refund the seller offered (Search Returns `partial_refund`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PartialRefund {
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub amount: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelLineItem {
    /// The order line item this cancellation covers.
    #[serde(deserialize_with = "id_string")]
    pub order_line_item_id: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub sku_id: Option<String>,
    #[serde(default)]
    pub seller_sku: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellation {
    #[serde(deserialize_with = "id_string")]
    pub cancel_id: String,
    #[serde(deserialize_with = "id_string")]
    pub order_id: String,
    #[serde(default)]
    pub cancel_type: String,
    #[serde(default)]
    pub cancel_status: String,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub cancel_reason: Option<String>,
    #[serde(default)]
    pub refund_amount: Option<RefundAmount>,
    #[serde(default)]
    pub cancel_line_items: Vec<CancelLineItem>,
    #[serde(default)]
    pub create_time: Option<i64>,
    #[serde(default)]
    pub update_time: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLineItem {
    #[serde(deserialize_with = "id_string")]
    pub order_line_item_id: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub return_line_item_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub sku_id: Option<String>,
    #[serde(default)]
    pub seller_sku: Option<String>,
    /// What TikTok refunded for this unit.
    #[serde(default)]
    pub refund_amount: Option<RefundAmount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnOrder {
    #[serde(deserialize_with = "id_string")]
    pub return_id: String,
    #[serde(deserialize_with = "id_string")]
    pub order_id: String,
    /// `REFUND` (refund only), `RETURN_AND_REFUND`, `REPLACEMENT`; open, so kept as text.
    #[serde(default)]
    pub return_type: String,
    #[serde(default)]
    pub return_status: String,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub return_reason: Option<String>,
    #[serde(default)]
    pub return_tracking_number: Option<String>,
    #[serde(default)]
    pub refund_amount: Option<RefundAmount>,
    #[serde(default)]
    pub return_line_items: Vec<ReturnLineItem>,
    #[serde(default)]
    pub partial_refund: Option<PartialRefund>,
    #[serde(default)]
    pub create_time: Option<i64>,
    #[serde(default)]
    pub update_time: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CancellationPage {
    #[serde(default)]
    pub cancellations: Vec<Cancellation>,
    #[serde(default)]
    pub next_page_token: Option<String>,
    #[serde(default)]
    pub total_count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ReturnPage {
    #[serde(default)]
    pub return_orders: Vec<ReturnOrder>,
    #[serde(default)]
    pub next_page_token: Option<String>,
    #[serde(default)]
    pub total_count: u64,
}

/// Success answers of the ship/update calls carry nothing the bridge reads.
#[derive(Debug, Default, Deserialize)]
struct Empty {}

fn to_body<T: Serialize>(what: &str, body: &T) -> Result<Vec<u8>, TikTokError> {
    serde_json::to_vec(body).map_err(|e| TikTokError::Config(format!("{what} body: {e}")))
}

/// Ids are spliced into paths, so only digits (TikTok ids are numeric) are let through.
fn check_id(what: &str, id: &str) -> Result<(), TikTokError> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(TikTokError::Config(format!(
            "{what} {id:?} is not a TikTok id"
        )))
    }
}

fn paging(page_size: u32, page_token: &Option<String>) -> Vec<(String, String)> {
    vec![
        ("page_size".to_string(), page_size.to_string()),
        (
            "page_token".to_string(),
            page_token.clone().unwrap_or_default(),
        ),
    ]
}

impl TikTokClient {
    /// Mark Package As Shipped: creates a package holding `order_line_item_ids` (a subset
    /// for a split or partial shipment) with its tracking; returns the new package id.
    pub async fn mark_package_shipped(
        &self,
        order_id: &str,
        req: &MarkShippedRequest,
    ) -> Result<MarkShippedResult, TikTokError> {
        check_id("order id", order_id)?;
        if req.order_line_item_ids.is_empty() {
            return Err(TikTokError::Config(
                "mark as shipped needs at least one order line item id".into(),
            ));
        }
        let body = to_body("mark as shipped", req)?;
        self.call_api(
            Method::POST,
            &mark_package_shipped_path(order_id),
            &[],
            Some(body),
        )
        .await
    }

    /// Ship Package with the seller's own carrier (`self_shipment`), for packages TikTok
    /// already created. 11006021 (already shipped) is `Ok(AlreadyShipped)`.
    pub async fn ship_package(
        &self,
        package_id: &str,
        tracking: &Tracking,
        handover_method: Option<HandoverMethod>,
    ) -> Result<ShipOutcome, TikTokError> {
        check_id("package id", package_id)?;
        let body = to_body(
            "ship package",
            &ShipBody {
                handover_method,
                self_shipment: tracking,
            },
        )?;
        let result: Result<Empty, _> = self
            .call_api(
                Method::POST,
                &ship_package_path(package_id),
                &[],
                Some(body),
            )
            .await;
        match result {
            Ok(_) => Ok(ShipOutcome::Shipped),
            Err(e) if e.code() == Some(CODE_PACKAGE_ALREADY_SHIPPED) => {
                Ok(ShipOutcome::AlreadyShipped)
            }
            Err(e) => Err(e),
        }
    }

    /// Update Shipping Info: replaces the tracking of a package that already shipped.
    pub async fn update_shipping_info(
        &self,
        package_id: &str,
        tracking: &Tracking,
    ) -> Result<(), TikTokError> {
        check_id("package id", package_id)?;
        let body = to_body("update shipping info", tracking)?;
        let _: Empty = self
            .call_api(
                Method::POST,
                &update_shipping_info_path(package_id),
                &[],
                Some(body),
            )
            .await?;
        Ok(())
    }

    /// The carriers TikTok accepts for a delivery option, to check a mapped provider id.
    pub async fn shipping_providers(
        &self,
        delivery_option_id: &str,
    ) -> Result<Vec<ShippingProvider>, TikTokError> {
        check_id("delivery option id", delivery_option_id)?;
        let data: ProvidersData = self
            .call_api(
                Method::GET,
                &shipping_providers_path(delivery_option_id),
                &[],
                None,
            )
            .await?;
        Ok(data.shipping_providers)
    }

    /// One page of Search Cancellations (`page_size` clamped to 1–50).
    pub async fn search_cancellations(
        &self,
        req: &CancellationSearch,
    ) -> Result<CancellationPage, TikTokError> {
        let size = req.page_size.clamp(1, MAX_CANCELLATION_PAGE_SIZE);
        let body = to_body("cancellations search", req)?;
        let page: CancellationPage = self
            .search(CANCELLATIONS_SEARCH_PATH, size, &req.page_token, body)
            .await?;
        Ok(CancellationPage {
            next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
            ..page
        })
    }

    /// One page of Search Returns (`page_size` clamped to 10–50).
    pub async fn search_returns(&self, req: &ReturnSearch) -> Result<ReturnPage, TikTokError> {
        let size = req
            .page_size
            .clamp(MIN_RETURN_PAGE_SIZE, MAX_RETURN_PAGE_SIZE);
        let body = to_body("returns search", req)?;
        let page: ReturnPage = self
            .search(RETURNS_SEARCH_PATH, size, &req.page_token, body)
            .await?;
        Ok(ReturnPage {
            next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
            ..page
        })
    }

    async fn search<T: DeserializeOwned>(
        &self,
        path: &str,
        page_size: u32,
        page_token: &Option<String>,
        body: Vec<u8>,
    ) -> Result<T, TikTokError> {
        self.call_api(
            Method::POST,
            path,
            &paging(page_size, page_token),
            Some(body),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_bodies_leave_out_empty_filters() {
        let req = CancellationSearch {
            order_ids: vec!["1".into()],
            page_size: 20,
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"order_ids":["1"]}"#
        );
    }

    #[test]
    fn ship_body_nests_the_tracking_under_self_shipment() {
        let tracking = Tracking {
            tracking_number: "1Z".into(),
            shipping_provider_id: "7117858858072016686".into(),
        };
        let body = ShipBody {
            handover_method: Some(HandoverMethod::DropOff),
            self_shipment: &tracking,
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"handover_method":"DROP_OFF","self_shipment":{"tracking_number":"1Z","shipping_provider_id":"7117858858072016686"}})
        );
    }

    #[test]
    fn numeric_ids_parse_as_strings() {
        let c: Cancellation = serde_json::from_str(
            r#"{"cancel_id":4035,"order_id":"576","cancel_line_items":[{"order_line_item_id":577}]}"#,
        )
        .unwrap();
        assert_eq!(c.cancel_id, "4035");
        assert_eq!(c.cancel_line_items[0].order_line_item_id, "577");
    }

    #[test]
    fn non_numeric_ids_are_refused_before_any_request() {
        assert!(check_id("order id", "../x").is_err());
        assert!(check_id("order id", "").is_err());
        assert!(check_id("order id", "576486316948490001").is_ok());
    }
}
