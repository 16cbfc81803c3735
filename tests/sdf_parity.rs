//! Issue 11, sandbox parity: the NetSuite sandbox announces `inventory.changed` for exactly the
//! record changes the shipped SuiteScripts announce. Reads the SDF project in `deploy/netsuite`
//! (each user-event script's deployments: record type and event type filter; the script's
//! `INVENTORY_EVENTS` list) and compares with `SCRIPTED_INVENTORY_EVENTS`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn sdf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/netsuite/src")
}

/// Text of every `<tag>…</tag>` in `xml`, in order.
fn tags<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(after[..end].trim());
        rest = &after[end + close.len()..];
    }
    out
}

/// Blocks between `<scriptdeployment ` and `</scriptdeployment>`.
fn deployments(xml: &str) -> Vec<&str> {
    xml.split("<scriptdeployment ")
        .skip(1)
        .filter_map(|b| b.split("</scriptdeployment>").next())
        .collect()
}

/// The quoted strings of `const INVENTORY_EVENTS = [...]`, if the script has one.
fn inventory_events(js: &str) -> Option<Vec<String>> {
    let start = js.find("const INVENTORY_EVENTS = [")? + "const INVENTORY_EVENTS = [".len();
    let list = &js[start..start + js[start..].find(']')?];
    Some(
        list.split(',')
            .map(|s| s.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

/// (record type, event type) pairs the SDF project answers with `inventory.changed`.
fn shipped_pairs() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut scripts = 0;
    for entry in std::fs::read_dir(sdf().join("Objects")).expect("SDF Objects folder") {
        let path = entry.unwrap().path();
        let xml = std::fs::read_to_string(&path).unwrap();
        if !xml.trim_start().starts_with("<usereventscript") {
            continue;
        }
        let file = tags(&xml, "scriptfile")[0]
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_start_matches('/');
        let js = std::fs::read_to_string(sdf().join("FileCabinet").join(file))
            .unwrap_or_else(|e| panic!("{file} named by {}: {e}", path.display()));
        let Some(events) = inventory_events(&js) else {
            assert!(
                !js.contains("EVENT.INVENTORY_CHANGED"),
                "{file} sends inventory.changed without an INVENTORY_EVENTS list"
            );
            continue;
        };
        scripts += 1;
        for d in deployments(&xml) {
            if tags(d, "isdeployed").first() == Some(&"F") {
                continue;
            }
            let record = tags(d, "recordtype")[0].to_ascii_lowercase();
            // An event type on the deployment limits it to that one event.
            let only = tags(d, "eventtype")
                .first()
                .map(|e| e.to_ascii_lowercase())
                .filter(|e| !e.is_empty());
            for e in &events {
                if only.as_ref().is_none_or(|o| o == e) {
                    out.insert((record.clone(), e.clone()));
                }
            }
        }
    }
    assert!(scripts > 0, "no script sends inventory.changed");
    out
}

#[test]
fn scripted_inventory_events_mirror_the_sdf_project() {
    let sandbox: BTreeSet<(String, String)> = sandbox::netsuite::SCRIPTED_INVENTORY_EVENTS
        .iter()
        .flat_map(|(r, events)| events.iter().map(move |e| (r.to_string(), e.to_string())))
        .collect();
    assert_eq!(sandbox, shipped_pairs());
}

#[test]
fn the_sandbox_announces_nothing_the_scripts_do_not() {
    use sandbox::netsuite::scripts_announce;
    for (record, event) in shipped_pairs() {
        assert!(scripts_announce(&record, &event), "{record} {event}");
    }
    assert!(!scripts_announce("cashsale", "paybills"));
    assert!(!scripts_announce("customer", "create"));
}
