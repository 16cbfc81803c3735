//! The NetSuite customer a TikTok buyer becomes in per-buyer mode, keyed by the buyer's
//! TikTok user id so repeat orders upsert the same record.

use super::address::text;
use crate::config::MappingConfig;
use crate::netsuite::records::{Customer, RecordRef};
use crate::tiktok::models::Order;

/// `tiktok-buyer:<user_id>`, or `None` when the order carries no buyer id.
pub fn customer_external_id(order: &Order) -> Option<String> {
    text(&order.user_id).map(|u| format!("tiktok-buyer:{u}"))
}

/// The customer to upsert for this order's buyer. `None` in fixed-customer mode (every order
/// goes to `cfg.fixed_customer_id`) and when the order has no buyer id to key the record by.
pub fn customer(order: &Order, cfg: &MappingConfig) -> Option<Customer> {
    if cfg.fixed_customer_id.is_some() {
        return None;
    }
    let external_id = customer_external_id(order)?;
    let (first_name, last_name) = order
        .recipient_address
        .as_ref()
        .map(|r| match (text(&r.first_name), text(&r.last_name)) {
            (None, None) => split_name(text(&r.name)),
            names => names,
        })
        .unwrap_or_default();
    // NetSuite will not save a person without a name; TikTok hides or omits it at times.
    let (first_name, last_name) = match (first_name, last_name) {
        (None, None) => (
            Some("TikTok buyer".to_string()),
            Some(format!("order {}", order.id)),
        ),
        names => names,
    };
    Some(Customer {
        external_id,
        company_name: None,
        first_name,
        last_name,
        is_person: true,
        email: text(&order.buyer_email),
        subsidiary: cfg.subsidiary_id.clone().map(RecordRef::new),
    })
}

/// Splits a full name at its last space: "Mary Ann Smith" -> ("Mary Ann", "Smith"). A single
/// word goes to the last name, the one NetSuite is least willing to go without.
fn split_name(name: Option<String>) -> (Option<String>, Option<String>) {
    match name {
        None => (None, None),
        Some(n) => match n.rsplit_once(char::is_whitespace) {
            Some((first, last)) => (Some(first.trim().to_string()), Some(last.to_string())),
            None => (None, Some(n)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::fixtures::{cfg, order, order_json, plain_payment, unit};
    use serde_json::json;

    fn buyer_order(addr: Option<serde_json::Value>) -> Order {
        let mut v = order_json(vec![unit("1", "A", "10.00")], plain_payment("10.00"));
        if let Some(a) = addr {
            v["recipient_address"] = a;
        }
        order(v)
    }

    #[test]
    fn external_id_is_keyed_by_tiktok_user_id() {
        let o = buyer_order(None);
        assert_eq!(
            customer_external_id(&o).as_deref(),
            Some("tiktok-buyer:7494845936287622343")
        );
        let mut v = order_json(vec![unit("1", "A", "10.00")], plain_payment("10.00"));
        v.as_object_mut().map(|m| m.remove("user_id"));
        assert_eq!(customer_external_id(&order(v)), None);
    }

    #[test]
    fn per_buyer_customer_takes_names_email_and_subsidiary() {
        let o = buyer_order(Some(json!({
            "name": "Jane Q Doe", "first_name": "Jane", "last_name": "Doe", "region_code": "US"
        })));
        let c = customer(&o, &cfg()).expect("per-buyer mode");
        assert_eq!(
            c,
            Customer {
                external_id: "tiktok-buyer:7494845936287622343".into(),
                company_name: None,
                first_name: Some("Jane".into()),
                last_name: Some("Doe".into()),
                is_person: true,
                email: Some("v2abc@scs.tiktokw.us".into()),
                subsidiary: Some(RecordRef::new("1")),
            }
        );
    }

    #[test]
    fn full_name_is_split_when_first_and_last_are_absent() {
        let o = buyer_order(Some(json!({"name": "Mary Ann Smith"})));
        let c = customer(&o, &cfg()).expect("customer");
        assert_eq!(c.first_name.as_deref(), Some("Mary Ann"));
        assert_eq!(c.last_name.as_deref(), Some("Smith"));
        let o = buyer_order(Some(json!({"name": "Cher"})));
        let c = customer(&o, &cfg()).expect("customer");
        assert_eq!((c.first_name, c.last_name.as_deref()), (None, Some("Cher")));
    }

    #[test]
    fn a_buyer_with_no_name_is_named_from_the_order() {
        for addr in [
            None,
            Some(json!({"region_code": "US"})),
            Some(json!({"name": " "})),
        ] {
            let c = customer(&buyer_order(addr), &cfg()).expect("customer");
            assert_eq!(c.first_name.as_deref(), Some("TikTok buyer"));
            assert_eq!(c.last_name.as_deref(), Some("order 576486316948490001"));
        }
    }

    #[test]
    fn fixed_customer_mode_builds_no_customer() {
        let cfg = MappingConfig {
            fixed_customer_id: Some("4242".into()),
            ..cfg()
        };
        assert_eq!(customer(&buyer_order(None), &cfg), None);
    }
}
