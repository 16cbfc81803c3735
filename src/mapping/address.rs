//! TikTok recipient address to a NetSuite address subrecord. NetSuite cannot update
//! subrecords over REST, so this is sent once, when the sales order is created.

use crate::netsuite::records::{Address, RecordRef};
use crate::tiktok::models::{DistrictInfo, Order, RecipientAddress};

/// The order's shipping address, or `None` while TikTok hides it (UNPAID / ON_HOLD).
///
/// `district_info` levels: L0 country, L1 state/province, L2 county (US) or city, L3 city or
/// town. City takes L3 when present because L2 is the county in the US; it falls back to L2
/// for regions that stop there. State takes L1; for US addresses a full state name becomes
/// its two-letter code, which is what NetSuite's US state list is keyed by.
pub fn shipping_address(order: &Order) -> Option<Address> {
    let r = order.recipient_address.as_ref()?;
    let country = text(&r.region_code).map(|c| c.to_ascii_uppercase());

    // Compact non-empty street lines; TikTok's fourth line (used in some regions) joins the
    // third so nothing is lost in NetSuite's three.
    let mut lines = [
        &r.address_line1,
        &r.address_line2,
        &r.address_line3,
        &r.address_line4,
    ]
    .into_iter()
    .filter_map(text);
    let addr1 = lines.next();
    let addr2 = lines.next();
    let rest: Vec<String> = lines.collect();
    let addr3 = (!rest.is_empty()).then(|| rest.join(", "));

    let city = level(&r.district_info, "L3").or_else(|| level(&r.district_info, "L2"));
    let state = level(&r.district_info, "L1").map(|s| match country.as_deref() {
        Some("US") => us_state_code(&s).map_or(s, str::to_string),
        _ => s,
    });

    Some(Address {
        addressee: addressee(r),
        addr1,
        addr2,
        addr3,
        city,
        state,
        zip: text(&r.postal_code),
        country: country.map(RecordRef::new),
        addr_phone: text(&r.phone_number),
    })
}

/// `name`, else first and last name joined.
fn addressee(r: &RecipientAddress) -> Option<String> {
    text(&r.name).or_else(|| {
        let parts: Vec<String> = [&r.first_name, &r.last_name]
            .into_iter()
            .filter_map(text)
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    })
}

fn level(district: &[DistrictInfo], wanted: &str) -> Option<String> {
    district
        .iter()
        .find(|d| {
            d.address_level
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case(wanted))
        })
        .and_then(|d| text(&d.address_name))
}

/// Trimmed, and `None` when blank: TikTok sends empty strings for absent parts.
pub(super) fn text(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn us_state_code(name: &str) -> Option<&'static str> {
    const STATES: [(&str, &str); 56] = [
        ("Alabama", "AL"),
        ("Alaska", "AK"),
        ("Arizona", "AZ"),
        ("Arkansas", "AR"),
        ("California", "CA"),
        ("Colorado", "CO"),
        ("Connecticut", "CT"),
        ("Delaware", "DE"),
        ("District of Columbia", "DC"),
        ("Florida", "FL"),
        ("Georgia", "GA"),
        ("Hawaii", "HI"),
        ("Idaho", "ID"),
        ("Illinois", "IL"),
        ("Indiana", "IN"),
        ("Iowa", "IA"),
        ("Kansas", "KS"),
        ("Kentucky", "KY"),
        ("Louisiana", "LA"),
        ("Maine", "ME"),
        ("Maryland", "MD"),
        ("Massachusetts", "MA"),
        ("Michigan", "MI"),
        ("Minnesota", "MN"),
        ("Mississippi", "MS"),
        ("Missouri", "MO"),
        ("Montana", "MT"),
        ("Nebraska", "NE"),
        ("Nevada", "NV"),
        ("New Hampshire", "NH"),
        ("New Jersey", "NJ"),
        ("New Mexico", "NM"),
        ("New York", "NY"),
        ("North Carolina", "NC"),
        ("North Dakota", "ND"),
        ("Ohio", "OH"),
        ("Oklahoma", "OK"),
        ("Oregon", "OR"),
        ("Pennsylvania", "PA"),
        ("Rhode Island", "RI"),
        ("South Carolina", "SC"),
        ("South Dakota", "SD"),
        ("Tennessee", "TN"),
        ("Texas", "TX"),
        ("Utah", "UT"),
        ("Vermont", "VT"),
        ("Virginia", "VA"),
        ("Washington", "WA"),
        ("West Virginia", "WV"),
        ("Wisconsin", "WI"),
        ("Wyoming", "WY"),
        ("Puerto Rico", "PR"),
        ("Guam", "GU"),
        ("American Samoa", "AS"),
        ("Northern Mariana Islands", "MP"),
        ("U.S. Virgin Islands", "VI"),
    ];
    STATES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, code)| code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::fixtures::{order, order_json, plain_payment, unit};
    use serde_json::json;

    fn with_address(addr: serde_json::Value) -> Order {
        let mut v = order_json(vec![unit("1", "A", "10.00")], plain_payment("10.00"));
        v["recipient_address"] = addr;
        order(v)
    }

    fn us_address() -> serde_json::Value {
        json!({
            "name": "Jane Doe",
            "first_name": "Jane",
            "last_name": "Doe",
            "phone_number": "(+1)2135550100",
            "address_line1": "100 Main St",
            "address_line2": "",
            "address_line3": "Apt 4",
            "address_line4": "",
            "postal_code": "92618",
            "region_code": "US",
            "full_address": "100 Main St, Apt 4, Irvine, Orange, California, United States",
            "district_info": [
                {"address_level_name": "Country", "address_name": "United States", "address_level": "L0"},
                {"address_level_name": "State", "address_name": "California", "address_level": "L1"},
                {"address_level_name": "County", "address_name": "Orange", "address_level": "L2"},
                {"address_level_name": "City", "address_name": "Irvine", "address_level": "L3"}
            ]
        })
    }

    #[test]
    fn us_address_maps_city_from_l3_and_state_to_its_code() {
        let a = shipping_address(&with_address(us_address())).expect("address");
        assert_eq!(
            a,
            Address {
                addressee: Some("Jane Doe".into()),
                addr1: Some("100 Main St".into()),
                // The empty line 2 is skipped, so line 3 moves up.
                addr2: Some("Apt 4".into()),
                addr3: None,
                city: Some("Irvine".into()),
                state: Some("CA".into()),
                zip: Some("92618".into()),
                country: Some(RecordRef::new("US")),
                addr_phone: Some("(+1)2135550100".into()),
            }
        );
    }

    #[test]
    fn city_falls_back_to_l2_and_non_us_state_keeps_its_name() {
        let a = shipping_address(&with_address(json!({
            "first_name": "John",
            "last_name": "Smith",
            "address_line1": "1 High St",
            "address_line2": "Flat 2",
            "address_line3": "Block C",
            "address_line4": "Old Town",
            "postal_code": "SW1A 1AA",
            "region_code": "gb",
            "district_info": [
                {"address_level_name": "Country", "address_name": "United Kingdom", "address_level": "L0"},
                {"address_level_name": "Country", "address_name": "England", "address_level": "L1"},
                {"address_level_name": "Post town", "address_name": "London", "address_level": "L2"}
            ]
        })))
        .expect("address");
        assert_eq!(a.addressee.as_deref(), Some("John Smith"));
        assert_eq!(a.addr3.as_deref(), Some("Block C, Old Town"));
        assert_eq!(a.city.as_deref(), Some("London"));
        assert_eq!(a.state.as_deref(), Some("England"));
        assert_eq!(a.country, Some(RecordRef::new("GB")));
        assert_eq!(a.addr_phone, None);
    }

    #[test]
    fn hidden_address_maps_to_none() {
        let mut v = order_json(vec![unit("1", "A", "10.00")], plain_payment("10.00"));
        v["status"] = json!("ON_HOLD");
        assert_eq!(shipping_address(&order(v)), None);
    }
}
