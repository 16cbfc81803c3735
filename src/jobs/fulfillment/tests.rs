//! Unit tests of F1's pure decisions.

use super::*;
use crate::netsuite::transactions::{FulfillmentLine, RecordRef};
use serde_json::json;

fn order(lines: &[(&str, &str, Option<&str>, Option<&str>)]) -> Order {
    let items: Vec<Value> = lines
        .iter()
        .map(|(id, sku, pkg, tracking)| {
            json!({"id": id, "sku_id": sku, "original_price": "1.00",
                   "package_id": pkg, "tracking_number": tracking.unwrap_or("")})
        })
        .collect();
    serde_json::from_value(json!({"id": "1", "status": "AWAITING_SHIPMENT", "line_items": items}))
        .unwrap()
}

fn want(pairs: &[(&str, u32)]) -> BTreeMap<String, u32> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn units_in_no_package_are_marked_shipped_per_sku() {
    let o = order(&[
        ("a1", "X", None, None),
        ("a2", "X", None, None),
        ("b1", "Y", None, None),
    ]);
    let p = plan(&o, &want(&[("X", 1), ("Y", 1)]), "1Z");
    assert_eq!(p.mark_shipped, vec!["a1", "b1"]);
    assert!(p.ship_packages.is_empty() && p.adopted.is_empty() && p.missing.is_empty());
}

#[test]
fn shipped_units_are_not_picked_again_and_our_tracking_is_adopted() {
    let o = order(&[
        ("a1", "X", Some("900"), Some("1Z")),
        ("a2", "X", Some("901"), Some("OTHER")),
        ("a3", "X", None, None),
    ]);
    let p = plan(&o, &want(&[("X", 2)]), "1Z");
    assert_eq!(p.adopted, vec![("900".to_string(), vec!["a1".to_string()])]);
    assert_eq!(p.mark_shipped, vec!["a3"]);
    let p = plan(&o, &want(&[("X", 3)]), "1Z");
    assert_eq!(p.missing, want(&[("X", 1)]));
}

#[test]
fn tiktok_made_packages_ship_whole_or_not_at_all() {
    let o = order(&[
        ("a1", "X", Some("900"), None),
        ("b1", "Y", Some("900"), None),
        ("a2", "X", None, None),
    ]);
    let p = plan(&o, &want(&[("X", 1), ("Y", 1)]), "1Z");
    assert_eq!(
        p.ship_packages,
        vec![("900".to_string(), vec!["a1".to_string(), "b1".to_string()])]
    );
    assert!(p.mark_shipped.is_empty());
    // Only Y wanted: package 900 also holds an X, so it is not shipped; Y waits for it.
    let p = plan(&o, &want(&[("Y", 1)]), "1Z");
    assert!(p.is_empty());
    assert_eq!(p.waiting, want(&[("Y", 1)]));
    assert_eq!(p.waiting_packages, vec!["900"]);
    assert!(p.missing.is_empty());
}

#[test]
fn units_of_a_package_split_across_fulfillments_wait_then_ship_together() {
    let o = order(&[
        ("a1", "X", Some("900"), None),
        ("b1", "Y", Some("900"), None),
    ]);
    let mut carry = CarriedUnits::default();
    // First fulfillment: X only. Nothing ships; it waits.
    carry.fulfillments.push(CarriedFulfillment {
        fulfillment_id: "10".into(),
        units: want(&[("X", 1)]),
    });
    let p = plan(&o, &carry.total(), "1Z1");
    assert!(p.is_empty());
    assert!(carry.settle(&p.waiting).is_empty());
    assert!(carry.contains("10"));
    // Second fulfillment: Y. With the carried X the package is whole and ships.
    carry.fulfillments.push(CarriedFulfillment {
        fulfillment_id: "11".into(),
        units: want(&[("Y", 1)]),
    });
    let p = plan(&o, &carry.total(), "1Z2");
    assert_eq!(
        p.ship_packages,
        vec![("900".to_string(), vec!["a1".to_string(), "b1".to_string()])]
    );
    assert_eq!(carry.settle(&p.waiting), vec!["10", "11"]);
    assert!(carry.fulfillments.is_empty());
}

#[test]
fn waiting_units_belong_to_the_newest_fulfillments() {
    let mut carry = CarriedUnits {
        fulfillments: vec![
            CarriedFulfillment {
                fulfillment_id: "1".into(),
                units: want(&[("X", 1)]),
            },
            CarriedFulfillment {
                fulfillment_id: "2".into(),
                units: want(&[("X", 1), ("Y", 2)]),
            },
        ],
    };
    assert_eq!(carry.total(), want(&[("X", 2), ("Y", 2)]));
    let done = carry.settle(&want(&[("X", 1), ("Y", 1)]));
    assert_eq!(done, vec!["1"]);
    assert_eq!(
        carry.fulfillments,
        vec![CarriedFulfillment {
            fulfillment_id: "2".into(),
            units: want(&[("X", 1), ("Y", 1)]),
        }]
    );
}

#[test]
fn fulfillments_of_one_sales_order_share_an_entity_lock_and_old_jobs_still_decode() {
    use crate::queue::Job;
    let job = |fid: &str, so: Option<&str>| Job::FulfillmentPush {
        fulfillment_id: fid.into(),
        event: "item_fulfillment.shipped".into(),
        sales_order_id: so.map(str::to_string),
    };
    assert_eq!(
        job("1", Some("55")).entity_key(),
        job("2", Some("55")).entity_key()
    );
    assert_ne!(
        job("1", Some("55")).entity_key(),
        job("1", Some("56")).entity_key()
    );
    assert_eq!(
        job("1", None).entity_key().as_deref(),
        Some("netsuite-fulfillment:1")
    );
    // A job queued by the previous version (no sales_order_id) still decodes.
    let old: Job = serde_json::from_str(
        r#"{"kind":"fulfillment_push","fulfillment_id":"9","event":"item_fulfillment.shipped"}"#,
    )
    .unwrap();
    assert_eq!(old, job("9", None));
    let v = serde_json::to_value(job("9", None)).unwrap();
    assert!(v.get("sales_order_id").is_none());
}

#[test]
fn a_pushed_record_without_settled_by_still_decodes() {
    let rec: PushedFulfillment =
        serde_json::from_str(r#"{"order_id":"1","packages":[],"pushed_at_ms":5}"#).unwrap();
    assert!(rec.settled_by.is_empty());
}

fn fulfillment(method: Option<(&str, &str)>, carrier: Option<&str>) -> ItemFulfillment {
    ItemFulfillment {
        id: "7".into(),
        ship_method: method.map(|(id, name)| RecordRef {
            id: id.into(),
            ref_name: Some(name.into()),
        }),
        ship_carrier: carrier.map(|c| RecordRef {
            id: c.into(),
            ref_name: None,
        }),
        ..Default::default()
    }
}

#[test]
fn carriers_match_case_insensitively_most_specific_first() {
    let f = fulfillment(Some(("12", "UPS Ground")), Some("ups"));
    assert_eq!(carrier_keys(&f), vec!["ups ground", "12", "ups"]);
    let map: HashMap<String, String> = [("ups".to_string(), "111".to_string())].into();
    assert_eq!(
        lookup_carrier(&map, &carrier_keys(&f)),
        Some(("ups", "111"))
    );
    let map2: HashMap<String, String> = [
        ("ups".to_string(), "111".to_string()),
        ("ups ground".to_string(), "222".to_string()),
    ]
    .into();
    assert_eq!(
        lookup_carrier(&map2, &carrier_keys(&f)),
        Some(("ups ground", "222"))
    );
    assert!(carrier_keys(&fulfillment(None, None)).is_empty());
}

#[test]
fn a_parked_carrier_resolves_only_with_a_new_provider() {
    let keys = vec!["dhl".to_string()];
    let empty = HashMap::new();
    assert!(!carrier_now_mapped(&empty, &keys, None));
    let map: HashMap<String, String> = [("dhl".to_string(), "5".to_string())].into();
    assert!(carrier_now_mapped(&map, &keys, None));
    assert!(!carrier_now_mapped(&map, &keys, Some("5")));
    assert!(carrier_now_mapped(&map, &keys, Some("4")));
}

#[test]
fn the_tiktok_order_id_comes_from_the_external_id_or_the_body_field() {
    assert_eq!(
        tiktok_order_id(&json!({"externalId": "tiktok-order:576"})).as_deref(),
        Some("576")
    );
    assert_eq!(
        tiktok_order_id(&json!({"externalId": "shopify:9", "custbody_tiktok_order_id": "577"}))
            .as_deref(),
        Some("577")
    );
    assert_eq!(tiktok_order_id(&json!({"externalId": "shopify:9"})), None);
    assert_eq!(
        tiktok_order_id(&json!({"externalId": "tiktok-order:../x"})),
        None
    );
}

#[test]
fn netsuite_lines_become_tiktok_units_by_sku_id() {
    let so = json!({"item": {"items": [
        {"line": 1, "custcol_tiktok_sku_id": "X", "quantity": 2},
        {"line": 2, "custcol_tiktok_sku_id": "Y", "quantity": 1},
        {"line": 3, "quantity": 1}
    ]}});
    let mut f = fulfillment(None, None);
    let line = |order_line: u64, quantity: f64| FulfillmentLine {
        order_line: Some(order_line),
        quantity,
        ..Default::default()
    };
    f.lines = vec![line(1, 2.0), line(2, 1.0)];
    assert_eq!(wanted_units(&f, &so).unwrap(), want(&[("X", 2), ("Y", 1)]));
    f.lines = vec![line(3, 1.0)];
    assert_eq!(wanted_units(&f, &so).unwrap(), want(&[]));
    f.lines = vec![line(1, 1.5)];
    assert!(wanted_units(&f, &so).is_err());
    f.lines = vec![line(9, 1.0)];
    assert!(wanted_units(&f, &so).is_err());
}

#[test]
fn kit_members_and_non_tiktok_lines_are_left_out_not_fatal() {
    let so = json!({"item": {"items": [
        {"line": 1, "custcol_tiktok_sku_id": "X", "quantity": 2},
        {"line": 2, "item": {"id": "shipping"}, "quantity": 1}
    ]}});
    let mut f = fulfillment(None, None);
    f.lines = vec![
        FulfillmentLine {
            order_line: Some(1),
            quantity: 2.0,
            ..Default::default()
        },
        // A kit member line: no orderLine of its own.
        FulfillmentLine {
            line: Some(5),
            order_line: None,
            quantity: 4.0,
            ..Default::default()
        },
        // A fulfillable other-charge item: its sales order line has no sku id.
        FulfillmentLine {
            order_line: Some(2),
            quantity: 1.0,
            ..Default::default()
        },
    ];
    assert_eq!(wanted_units(&f, &so).unwrap(), want(&[("X", 2)]));
}
