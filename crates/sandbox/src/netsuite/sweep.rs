//! The two SuiteQL reads of the bridge's inventory sweep, answered from the account's own
//! state: which items sit on lines of transactions saved in the last N seconds
//! (`transaction.lastmodifieddate` against `SYSDATE`), and which items' available quantity at
//! given locations changed in that time (`aggregateitemlocation.lastquantityavailablechange`).
//! The sandbox's `SYSDATE` is its own clock; every save stamps the record, every commitment or
//! stock change stamps the (item, location).

use super::query::{tokenize, Template, Tok};
use super::state::{RecordKind, State as AccountState};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// What the sandbox understands, `IN` lists written as `(?)` and matched for any length.
const CHANGED_LINES: &str = "select distinct tl.item as item from transactionline tl \
    join transaction t on t.id = tl.transaction \
    where t.lastmodifieddate >= sysdate - numtodsinterval(?, 'second') \
    and tl.item is not null order by tl.item";
const CHANGED_ITEM_LOCATIONS: &str = "select distinct ail.item as item \
    from aggregateitemlocation ail \
    where ail.lastquantityavailablechange >= sysdate - numtodsinterval(?, 'second') \
    and ail.location in (?) order by ail.item";

/// Matches `toks` against `pattern`, where `in (?)` in the pattern takes a list of one or
/// more placeholders. Returns the length of each list met.
fn matches(toks: &[Tok], pattern: &str) -> Option<Vec<usize>> {
    let pat = tokenize(pattern)?;
    let (mut i, mut j) = (0, 0);
    let mut lists = Vec::new();
    while j < pat.len() {
        let list_here = pat[j] == Tok::Word("in".into())
            && pat.get(j + 1) == Some(&Tok::Sym('('))
            && pat.get(j + 2) == Some(&Tok::Sym('?'))
            && pat.get(j + 3) == Some(&Tok::Sym(')'));
        if list_here {
            if toks.get(i) != Some(&Tok::Word("in".into()))
                || toks.get(i + 1) != Some(&Tok::Sym('('))
            {
                return None;
            }
            i += 2;
            let mut n = 0;
            loop {
                if toks.get(i) != Some(&Tok::Sym('?')) {
                    return None;
                }
                n += 1;
                i += 1;
                match toks.get(i) {
                    Some(Tok::Sym(',')) => i += 1,
                    Some(Tok::Sym(')')) => {
                        i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
            lists.push(n);
            j += 4;
            continue;
        }
        if toks.get(i) != Some(&pat[j]) {
            return None;
        }
        i += 1;
        j += 1;
    }
    (i == toks.len()).then_some(lists)
}

pub(super) fn parse(toks: &[Tok]) -> Option<Template> {
    if matches(toks, CHANGED_LINES).is_some() {
        return Some(Template::ChangedLines);
    }
    let lists = matches(toks, CHANGED_ITEM_LOCATIONS)?;
    Some(Template::ChangedItemLocations {
        locations: *lists.first()?,
    })
}

fn id(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        Value::Object(o) => o.get("id").and_then(id),
        _ => None,
    }
}

/// Rows of either sweep template: one `{"item": id}` per distinct item, ordered by item.
pub(super) fn rows(
    st: &AccountState,
    t: &Template,
    params: &[String],
) -> Result<Vec<Map<String, Value>>, String> {
    let secs: f64 = params
        .first()
        .and_then(|p| p.trim().parse().ok())
        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
        .ok_or_else(|| "Invalid search query. NUMTODSINTERVAL needs a number.".to_string())?;
    // `None`: the window reaches back before the sandbox started, so everything is in it.
    let since = Instant::now().checked_sub(Duration::from_secs_f64(secs));
    let within = |at: &Instant| since.is_none_or(|s| *at >= s);
    let mut items: BTreeSet<u64> = BTreeSet::new();
    match t {
        Template::ChangedLines => {
            for kind in RecordKind::TRANSACTIONS {
                for r in st.records(*kind) {
                    if !st.modified.get(&(*kind, r.id)).is_some_and(within) {
                        continue;
                    }
                    let lines = r
                        .body
                        .get("item")
                        .and_then(|i| i.get("items"))
                        .and_then(Value::as_array);
                    for line in lines.into_iter().flatten() {
                        items.extend(line.get("item").and_then(id));
                    }
                }
            }
        }
        Template::ChangedItemLocations { .. } => {
            let locations: Vec<u64> = params[1..]
                .iter()
                .map(|p| {
                    p.parse()
                        .map_err(|_| format!("Invalid search query. {p:?} is not an internal id."))
                })
                .collect::<Result<_, _>>()?;
            for ((item, location), at) in &st.stock_changed {
                if within(at) && locations.contains(location) {
                    items.insert(*item);
                }
            }
        }
        _ => return Err("not a sweep query".into()),
    }
    Ok(items
        .into_iter()
        .map(|i| {
            let mut m = Map::new();
            m.insert("links".into(), Value::Array(Vec::new()));
            m.insert("item".into(), Value::String(i.to_string()));
            m
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::query::parse as parse_query;
    use super::*;

    #[test]
    fn recognises_the_sweep_reads_and_nothing_close_to_them() {
        let lines = "SELECT DISTINCT tl.item AS item FROM transactionline tl JOIN transaction t \
            ON t.id = tl.transaction WHERE t.lastmodifieddate >= SYSDATE - NUMTODSINTERVAL(?, 'SECOND') \
            AND tl.item IS NOT NULL ORDER BY tl.item";
        assert_eq!(parse_query(lines), Some(Template::ChangedLines));
        let ail = "SELECT DISTINCT ail.item AS item FROM aggregateitemlocation ail WHERE \
            ail.lastquantityavailablechange >= SYSDATE - NUMTODSINTERVAL(?, 'SECOND') AND \
            ail.location IN (?, ?) ORDER BY ail.item";
        assert_eq!(
            parse_query(ail),
            Some(Template::ChangedItemLocations { locations: 2 })
        );
        assert_eq!(parse_query(&lines.replace("DISTINCT ", "")), None);
        assert_eq!(parse_query(&lines.replace("'SECOND'", "'DAY'")), None);
        assert_eq!(parse_query(&ail.replace("IN (?, ?)", "IN ()")), None);
        assert_eq!(parse_query(&ail.replace(" ORDER BY ail.item", "")), None);
    }
}
