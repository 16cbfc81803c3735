//! Carrier mapping: a fulfillment's ship method or carrier, through `CARRIER_MAP`, to a TikTok
//! `shipping_provider_id` that the order's delivery option offers.

use super::*;

/// The texts a carrier is looked up by, lowercased, most specific first: ship method name,
/// ship method id, carrier name, carrier id.
pub fn carrier_keys(f: &ItemFulfillment) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for r in [&f.ship_method, &f.ship_carrier].into_iter().flatten() {
        for text in [r.ref_name.as_deref(), Some(r.id.as_str())]
            .into_iter()
            .flatten()
        {
            let k = text.trim().to_lowercase();
            if !k.is_empty() && !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    keys
}

/// The first key the map knows, with its provider id.
pub fn lookup_carrier<'a>(
    map: &'a HashMap<String, String>,
    keys: &[String],
) -> Option<(&'a str, &'a str)> {
    keys.iter()
        .find_map(|k| map.get_key_value(k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
}

/// Whether a fulfillment parked for an unknown carrier can run again: the map now names a
/// provider for it, and not the one TikTok refused.
pub fn carrier_now_mapped(
    map: &HashMap<String, String>,
    keys: &[String],
    rejected_provider_id: Option<&str>,
) -> bool {
    lookup_carrier(map, keys).is_some_and(|(_, id)| Some(id) != rejected_provider_id)
}

/// The provider id for the fulfillment's carrier, or why the job must park.
pub(super) async fn provider_for(
    ctx: &JobContext,
    f: &ItemFulfillment,
    order: &Order,
) -> Result<Result<String, ParkReason>, JobError> {
    let keys = carrier_keys(f);
    let carrier = f
        .ship_method
        .iter()
        .chain(f.ship_carrier.iter())
        .find_map(|r| r.ref_name.clone().or_else(|| Some(r.id.clone())))
        .unwrap_or_else(|| "(none)".into());
    let Some((_, provider)) = lookup_carrier(&ctx.mapping.carrier_map, &keys) else {
        return Ok(Err(ParkReason::UnknownCarrier {
            carrier,
            keys,
            rejected_provider_id: None,
        }));
    };
    let Some(option) = order
        .delivery_option_id
        .as_deref()
        .filter(|o| !o.is_empty())
    else {
        // Nothing to check against; TikTok itself refuses an unknown provider (21011022).
        tracing::warn!(
            order_id = order.id,
            "order has no delivery_option_id; the mapped provider is not checked"
        );
        return Ok(Ok(provider.to_string()));
    };
    let listed = ctx.tiktok.shipping_providers(option).await;
    tiktok_call(
        ctx,
        &order.id,
        &crate::tiktok::client::api_template(&crate::tiktok::fulfillment::shipping_providers_path(
            option,
        )),
        &listed,
    )
    .await;
    if listed?.iter().any(|p| p.id == provider) {
        Ok(Ok(provider.to_string()))
    } else {
        Ok(Err(ParkReason::UnknownCarrier {
            carrier,
            keys,
            rejected_provider_id: Some(provider.to_string()),
        }))
    }
}
