//! Transaction calls beyond the sales order (reference §4.3–4.5): reading item fulfillments,
//! transforms (sales order → fulfillment / return authorization, return authorization →
//! credit memo / item receipt), PATCHing sublist lines, and creating return documents once
//! per external id.

use super::client::{
    check_record_type, id_from_location, NetSuiteClient, NetSuiteError, PATH_SEGMENT,
};
use http::Method;
use percent_encoding::utf8_percent_encode;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// A reference as NetSuite returns it: `{"id": "5", "refName": "UPS Ground"}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordRef {
    pub id: String,
    pub ref_name: Option<String>,
}

impl RecordRef {
    /// Lenient: select fields come back as `{id, refName}`, but bare strings and numbers
    /// appear too (e.g. `shipCarrier`).
    fn parse(v: Option<&Value>) -> Option<RecordRef> {
        match v? {
            Value::String(s) if !s.is_empty() => Some(RecordRef {
                id: s.clone(),
                ref_name: None,
            }),
            Value::Number(n) => Some(RecordRef {
                id: n.to_string(),
                ref_name: None,
            }),
            Value::Object(m) => Some(RecordRef {
                id: m.get("id").and_then(scalar_string)?,
                ref_name: m.get("refName").and_then(scalar_string),
            }),
            _ => None,
        }
    }
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// One package of an item fulfillment with its tracking number.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FulfillmentPackage {
    pub tracking_number: String,
    pub weight: Option<f64>,
    pub description: Option<String>,
}

/// One line of an item fulfillment: which sales order line it ships, and how much.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FulfillmentLine {
    pub line: Option<u64>,
    /// The sales order line this fulfils (the link back to TikTok's line items).
    pub order_line: Option<u64>,
    pub item: Option<RecordRef>,
    pub quantity: f64,
    pub location: Option<RecordRef>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemFulfillment {
    pub id: String,
    pub external_id: Option<String>,
    /// The sales order it was transformed from.
    pub created_from: Option<RecordRef>,
    /// `A` picked, `B` packed, `C` shipped (letters unconfirmed, reference §4.4). Absent
    /// on accounts without Pick, Pack and Ship, where a saved fulfillment is a shipped one.
    pub ship_status: Option<String>,
    pub ship_method: Option<RecordRef>,
    pub ship_carrier: Option<RecordRef>,
    pub shipped_date: Option<String>,
    pub packages: Vec<FulfillmentPackage>,
    pub lines: Vec<FulfillmentLine>,
}

impl ItemFulfillment {
    /// Every non-empty tracking number, package order, without repeats.
    pub fn tracking_numbers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in &self.packages {
            if !p.tracking_number.is_empty() && !out.contains(&p.tracking_number) {
                out.push(p.tracking_number.clone());
            }
        }
        out
    }

    /// Shipped (`C`), or no status at all: without Pick, Pack and Ship NetSuite has no
    /// picked/packed stages, and the callout script sends `item_fulfillment.shipped` for such
    /// a fulfillment (`tnb_ue_item_fulfillment.js`); both sides agree on this.
    pub fn is_shipped(&self) -> bool {
        match self.ship_status.as_deref().map(str::trim) {
            None | Some("") => true,
            Some(s) => s == "C",
        }
    }

    /// Reads the REST record. Packages come from `package` and the carrier-specific
    /// sublists (`packageUps`, `packageFedex`, `packageUsps`), whichever the account uses.
    pub fn from_record(record: &Value) -> Result<ItemFulfillment, NetSuiteError> {
        let id = record
            .get("id")
            .and_then(scalar_string)
            .ok_or_else(|| NetSuiteError::InvalidResponse("item fulfillment has no id".into()))?;
        let items = |sublist: &str| -> Vec<Value> {
            record
                .get(sublist)
                .and_then(|s| s.get("items"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let mut packages = Vec::new();
        for (sublist, suffix) in [
            ("package", ""),
            ("packageUps", "Ups"),
            ("packageFedex", "FedEx"),
            ("packageUsps", "Usps"),
        ] {
            for p in items(sublist) {
                let field = |base: &str| p.get(format!("{base}{suffix}").as_str()).cloned();
                let tracking = field("packageTrackingNumber")
                    .as_ref()
                    .and_then(scalar_string)
                    .unwrap_or_default();
                packages.push(FulfillmentPackage {
                    tracking_number: tracking.trim().to_string(),
                    weight: number(field("packageWeight").as_ref()),
                    description: field("packageDescr").as_ref().and_then(scalar_string),
                });
            }
        }
        let lines = items("item")
            .iter()
            .map(|l| FulfillmentLine {
                line: number(l.get("line")).map(|n| n as u64),
                order_line: number(l.get("orderLine")).map(|n| n as u64),
                item: RecordRef::parse(l.get("item")),
                quantity: number(l.get("quantity")).unwrap_or(0.0),
                location: RecordRef::parse(l.get("location")),
            })
            .collect();
        Ok(ItemFulfillment {
            id,
            external_id: record.get("externalId").and_then(scalar_string),
            created_from: RecordRef::parse(record.get("createdFrom")),
            ship_status: RecordRef::parse(record.get("shipStatus")).map(|r| r.id),
            ship_method: RecordRef::parse(record.get("shipMethod")),
            ship_carrier: RecordRef::parse(record.get("shipCarrier")),
            shipped_date: record.get("shippedDate").and_then(scalar_string),
            packages,
            lines,
        })
    }
}

/// A change to one existing sublist line. `line` is mandatory by type: a PATCHed line
/// without it would be added as a new line (reference §4.5).
#[derive(Debug, Clone, PartialEq)]
pub struct LinePatch {
    pub line: u64,
    pub fields: Map<String, Value>,
}

impl LinePatch {
    /// Close a sales order line (what a TikTok cancellation of that line means).
    pub fn close(line: u64) -> LinePatch {
        let mut fields = Map::new();
        fields.insert("isclosed".into(), Value::Bool(true));
        LinePatch { line, fields }
    }

    fn to_json(&self) -> Value {
        let mut m = self.fields.clone();
        m.insert("line".into(), json!(self.line));
        Value::Object(m)
    }
}

/// Record types created by external-id upsert: they can stand alone in NetSuite. An item
/// receipt cannot (it only comes from a transform), so it goes through `transform_once`.
const UPSERTABLE: &[&str] = &["returnAuthorization", "creditMemo", "customerRefund"];

/// NetSuite's answer to a second record with the same external id.
fn is_duplicate_external_id(e: &NetSuiteError) -> bool {
    match e {
        NetSuiteError::Other { detail, .. } | NetSuiteError::InvalidContent { detail, .. } => {
            detail.to_ascii_lowercase().contains("same external id")
        }
        _ => false,
    }
}

impl NetSuiteClient {
    /// `GET /record/v1/itemFulfillment/{id}?expandSubResources=true`, typed. Sublists are
    /// only inlined when expanded, so the flag is what makes packages and lines visible.
    pub async fn get_item_fulfillment(&self, id: &str) -> Result<ItemFulfillment, NetSuiteError> {
        let path = format!(
            "/record/v1/itemFulfillment/{}",
            utf8_percent_encode(id, PATH_SEGMENT)
        );
        let url = self.url(&path, &[("expandSubResources", "true")])?;
        let answer = self
            .send(Method::GET, url, None, false, "get", "itemFulfillment")
            .await?;
        let record: Value = serde_json::from_slice(&answer.body).map_err(|e| {
            NetSuiteError::InvalidResponse(format!("item fulfillment is not JSON: {e}"))
        })?;
        ItemFulfillment::from_record(&record)
    }

    /// `GET /record/v1/{record_type}/{id}?expandSubResources=true`: the record with its
    /// sublists (a sales order's `item` lines) inlined instead of linked.
    pub async fn get_record_expanded(
        &self,
        record_type: &str,
        id: &str,
    ) -> Result<Value, NetSuiteError> {
        check_record_type(record_type)?;
        let path = format!(
            "/record/v1/{record_type}/{}",
            utf8_percent_encode(id, PATH_SEGMENT)
        );
        let url = self.url(&path, &[("expandSubResources", "true")])?;
        let answer = self
            .send(Method::GET, url, None, false, "get", record_type)
            .await?;
        serde_json::from_slice(&answer.body).map_err(|e| {
            NetSuiteError::InvalidResponse(format!("{record_type} record is not JSON: {e}"))
        })
    }

    /// `POST /record/v1/{from_type}/{id}/!transform/{to_type}` with the target's fields;
    /// returns the new record's internal id from `Location`.
    pub async fn transform<T: Serialize + ?Sized>(
        &self,
        from_type: &str,
        id: &str,
        to_type: &str,
        body: &T,
    ) -> Result<String, NetSuiteError> {
        check_record_type(from_type)?;
        check_record_type(to_type)?;
        let bytes = serde_json::to_vec(body)
            .map_err(|e| NetSuiteError::InvalidRequest(format!("body does not serialize: {e}")))?;
        let path = format!(
            "/record/v1/{from_type}/{}/!transform/{to_type}",
            utf8_percent_encode(id, PATH_SEGMENT)
        );
        let url = self.url(&path, &[])?;
        let answer = self
            .send(Method::POST, url, Some(bytes), false, "transform", to_type)
            .await?;
        answer
            .headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(id_from_location)
            .ok_or_else(|| {
                NetSuiteError::InvalidResponse(format!(
                    "{from_type} → {to_type} transform answered {} without a usable Location",
                    answer.status
                ))
            })
    }

    /// A transform that happens once per `external_id`: the id goes into the body, and a
    /// second attempt (NetSuite refuses the duplicate external id) or an answer without
    /// `Location` is resolved to the existing record by SuiteQL.
    pub async fn transform_once(
        &self,
        from_type: &str,
        id: &str,
        to_type: &str,
        external_id: &str,
        mut body: Map<String, Value>,
    ) -> Result<String, NetSuiteError> {
        if external_id.is_empty() {
            return Err(NetSuiteError::InvalidRequest("empty external id".into()));
        }
        if let Some(existing) = self.find_id_by_external_id(to_type, external_id).await? {
            return Ok(existing);
        }
        body.insert("externalId".into(), Value::String(external_id.to_string()));
        match self.transform(from_type, id, to_type, &body).await {
            Ok(new_id) => Ok(new_id),
            Err(e)
                if is_duplicate_external_id(&e)
                    || matches!(e, NetSuiteError::InvalidResponse(_)) =>
            {
                self.find_id_by_external_id(to_type, external_id)
                    .await?
                    .ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    /// `PATCH /record/v1/{record_type}/{id}` changing existing lines of the `item` sublist;
    /// every line carries its `line` so none is added by mistake.
    pub async fn patch_lines(
        &self,
        record_type: &str,
        id: &str,
        lines: &[LinePatch],
    ) -> Result<(), NetSuiteError> {
        self.patch_record(record_type, id, Map::new(), lines).await
    }

    /// PATCH of body fields plus `item` lines (either may be empty, not both).
    pub async fn patch_record(
        &self,
        record_type: &str,
        id: &str,
        mut fields: Map<String, Value>,
        lines: &[LinePatch],
    ) -> Result<(), NetSuiteError> {
        check_record_type(record_type)?;
        if fields.is_empty() && lines.is_empty() {
            return Err(NetSuiteError::InvalidRequest("empty PATCH".into()));
        }
        if !lines.is_empty() {
            let items: Vec<Value> = lines.iter().map(LinePatch::to_json).collect();
            fields.insert("item".into(), json!({ "items": items }));
        }
        let bytes = serde_json::to_vec(&fields)
            .map_err(|e| NetSuiteError::InvalidRequest(format!("body does not serialize: {e}")))?;
        let path = format!(
            "/record/v1/{record_type}/{}",
            utf8_percent_encode(id, PATH_SEGMENT)
        );
        let url = self.url(&path, &[])?;
        self.send(Method::PATCH, url, Some(bytes), false, "patch", record_type)
            .await?;
        Ok(())
    }

    /// Creates (or updates) a return authorization, credit memo or customer refund keyed
    /// by `external_id`, so a repeated TikTok return event writes one record.
    pub async fn upsert_return_document<T: Serialize + ?Sized>(
        &self,
        record_type: &str,
        external_id: &str,
        body: &T,
    ) -> Result<String, NetSuiteError> {
        if !UPSERTABLE.contains(&record_type) {
            return Err(NetSuiteError::InvalidRequest(format!(
                "{record_type} is not created by upsert here; use transform_once"
            )));
        }
        self.upsert(record_type, external_id, body, &["item"]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fulfillment_record_parses_packages_lines_and_refs() {
        let record = json!({
            "id": "901", "externalId": "if-1",
            "createdFrom": {"id": "555", "refName": "Sales Order #SO1"},
            "shipStatus": {"id": "C", "refName": "Shipped"},
            "shipMethod": {"id": "7", "refName": "UPS Ground"},
            "shipCarrier": "ups",
            "item": {"items": [{"line": 1, "orderLine": 2, "item": {"id": 98}, "quantity": 2.0}]},
            "package": {"items": [{"packageTrackingNumber": " 1Z999 ", "packageWeight": 1.5}]},
            "packageUps": {"items": [{"packageTrackingNumberUps": "1Z888"}, {"packageTrackingNumberUps": "1Z999"}]}
        });
        let f = ItemFulfillment::from_record(&record).unwrap();
        assert_eq!(f.created_from.as_ref().unwrap().id, "555");
        assert!(f.is_shipped());
        assert_eq!(
            f.ship_method.as_ref().unwrap().ref_name.as_deref(),
            Some("UPS Ground")
        );
        assert_eq!(f.ship_carrier.as_ref().unwrap().id, "ups");
        assert_eq!(f.lines[0].order_line, Some(2));
        assert_eq!(f.lines[0].item.as_ref().unwrap().id, "98");
        assert_eq!(f.tracking_numbers(), vec!["1Z999", "1Z888"]);
    }

    #[test]
    fn a_fulfillment_without_ship_status_counts_as_shipped() {
        let with = |status: Value| {
            let mut r = json!({"id": "1"});
            if !status.is_null() {
                r["shipStatus"] = status;
            }
            ItemFulfillment::from_record(&r).unwrap().is_shipped()
        };
        // Accounts without Pick, Pack and Ship: no status, and the script says "shipped".
        assert!(with(Value::Null));
        assert!(with(json!({"id": "C"})));
        assert!(!with(json!({"id": "A"})));
        assert!(!with(json!({"id": "B", "refName": "Packed"})));
    }

    #[test]
    fn line_patches_always_carry_line() {
        let v = LinePatch::close(3).to_json();
        assert_eq!(v, json!({"line": 3, "isclosed": true}));
    }

    #[test]
    fn duplicate_external_id_answers_are_recognised() {
        let e = NetSuiteError::Other {
            status: 400,
            code: "USER_ERROR".into(),
            detail:
                "Error while accessing resource: A record with the same external ID already exists."
                    .into(),
        };
        assert!(is_duplicate_external_id(&e));
    }
}
