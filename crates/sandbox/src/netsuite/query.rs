//! The sandbox's SuiteQL endpoint: NetSuite's pager rules and response shape, over a small
//! token matcher that understands exactly the query templates the bridge sends.

use super::state::{RecordKind, State as AccountState};
use super::{ns_error, NetSuiteSandbox};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;

const MAX_LIMIT: u64 = 1000;
const MAX_ROWS: u64 = 100_000;
const MAX_PAGES: u64 = 1000;

#[derive(Debug, Deserialize)]
pub(super) struct PageQuery {
    limit: Option<String>,
    offset: Option<String>,
}

#[derive(Debug, Deserialize)]
struct QueryBody {
    q: String,
    #[serde(default)]
    params: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Template {
    /// `SELECT id, {field} AS {alias} FROM item WHERE {field} IN (?, …) [ORDER BY id]`
    ItemsBySku {
        field: String,
        alias: String,
        placeholders: usize,
    },
    /// `SELECT id FROM transaction|customer WHERE externalid = ?`
    IdByExternalId { kind: RecordKind },
    /// `SELECT id, itemid FROM item [WHERE id > ?] ORDER BY id`
    AllItems { after: bool },
    /// The inventory stock query (see `stock.rs`): item and location placeholder counts.
    Stock { items: usize, locations: usize },
    /// Items on lines of transactions saved in the last `?` seconds (see `sweep.rs`).
    ChangedLines,
    /// Items whose availability at one of the locations changed in the last `?` seconds.
    ChangedItemLocations { locations: usize },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    Word(String),
    Sym(char),
    /// A quoted literal, lower-cased.
    Str(String),
}

pub(super) fn tokenize(q: &str) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let mut chars = q.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    word.push(c.to_ascii_lowercase());
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(Tok::Word(word));
        } else if "?,()=>*.-".contains(c) {
            out.push(Tok::Sym(c));
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut lit = String::new();
            loop {
                match chars.next()? {
                    '\'' => break,
                    c => lit.push(c.to_ascii_lowercase()),
                }
            }
            out.push(Tok::Str(lit));
        } else {
            return None;
        }
    }
    Some(out)
}

struct Cursor<'a> {
    toks: &'a [Tok],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(toks: &'a [Tok]) -> Self {
        Cursor { toks, pos: 0 }
    }
    fn word(&mut self, w: &str) -> Option<()> {
        match self.toks.get(self.pos) {
            Some(Tok::Word(x)) if x == w => {
                self.pos += 1;
                Some(())
            }
            _ => None,
        }
    }
    fn sym(&mut self, s: char) -> Option<()> {
        match self.toks.get(self.pos) {
            Some(Tok::Sym(x)) if *x == s => {
                self.pos += 1;
                Some(())
            }
            _ => None,
        }
    }
    fn ident(&mut self) -> Option<String> {
        match self.toks.get(self.pos) {
            Some(Tok::Word(x)) if x.starts_with(|c: char| c.is_ascii_alphabetic()) => {
                self.pos += 1;
                Some(x.clone())
            }
            _ => None,
        }
    }
    fn at(&self, s: char) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Sym(x)) if *x == s)
    }
    fn done(&self) -> Option<()> {
        (self.pos == self.toks.len()).then_some(())
    }
    fn order_by_id(&mut self) -> Option<()> {
        self.word("order")?;
        self.word("by")?;
        self.word("id")
    }
}

fn items_by_sku(toks: &[Tok]) -> Option<Template> {
    let mut c = Cursor::new(toks);
    c.word("select")?;
    c.word("id")?;
    c.sym(',')?;
    let field = c.ident()?;
    c.word("as")?;
    let alias = c.ident()?;
    c.word("from")?;
    c.word("item")?;
    c.word("where")?;
    if c.ident()? != field {
        return None;
    }
    c.word("in")?;
    c.sym('(')?;
    let mut placeholders = 0;
    loop {
        c.sym('?')?;
        placeholders += 1;
        if c.at(',') {
            c.sym(',')?;
        } else {
            break;
        }
    }
    c.sym(')')?;
    if c.done().is_none() {
        c.order_by_id()?;
        c.done()?;
    }
    Some(Template::ItemsBySku {
        field,
        alias,
        placeholders,
    })
}

fn id_by_external_id(toks: &[Tok]) -> Option<Template> {
    let mut c = Cursor::new(toks);
    c.word("select")?;
    c.word("id")?;
    c.word("from")?;
    let kind = match c.ident()?.as_str() {
        "transaction" => RecordKind::SalesOrder,
        "customer" => RecordKind::Customer,
        _ => return None,
    };
    c.word("where")?;
    c.word("externalid")?;
    c.sym('=')?;
    c.sym('?')?;
    c.done()?;
    Some(Template::IdByExternalId { kind })
}

fn all_items(toks: &[Tok]) -> Option<Template> {
    let mut c = Cursor::new(toks);
    c.word("select")?;
    c.word("id")?;
    c.sym(',')?;
    c.word("itemid")?;
    c.word("from")?;
    c.word("item")?;
    let after = if c.word("where").is_some() {
        c.word("id")?;
        c.sym('>')?;
        c.sym('?')?;
        true
    } else {
        false
    };
    c.order_by_id()?;
    c.done()?;
    Some(Template::AllItems { after })
}

/// Recognises one of the templates, or `None` for anything else.
pub(super) fn parse(q: &str) -> Option<Template> {
    if let Some((items, locations)) = super::stock::parse(q) {
        return Some(Template::Stock { items, locations });
    }
    let toks = tokenize(q)?;
    items_by_sku(&toks)
        .or_else(|| id_by_external_id(&toks))
        .or_else(|| all_items(&toks))
        .or_else(|| super::sweep::parse(&toks))
}

fn placeholders(t: &Template) -> usize {
    match t {
        Template::ItemsBySku { placeholders, .. } => *placeholders,
        Template::IdByExternalId { .. } => 1,
        Template::AllItems { after } => usize::from(*after),
        Template::Stock { items, locations } => items + locations,
        Template::ChangedLines => 1,
        Template::ChangedItemLocations { locations } => 1 + locations,
    }
}

fn row(pairs: &[(&str, String)]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("links".into(), Value::Array(Vec::new()));
    for (k, v) in pairs {
        m.insert(k.to_ascii_lowercase(), Value::String(v.clone()));
    }
    m
}

/// All rows of a recognised query, ordered by id.
fn run(
    st: &AccountState,
    t: &Template,
    params: &[String],
) -> Result<Vec<Map<String, Value>>, String> {
    match t {
        Template::ItemsBySku { field, alias, .. } => {
            if !st.item_field_known(field) {
                return Err(format!(
                    "Invalid search query. Search error occurred: Field '{field}' for record 'item' was not found."
                ));
            }
            Ok(st
                .items
                .values()
                .filter_map(|i| {
                    let v = i.field(field)?;
                    params
                        .iter()
                        .any(|p| p == v)
                        .then(|| row(&[("id", i.id.to_string()), (alias, v.to_string())]))
                })
                .collect())
        }
        // `transaction` spans every transaction kind, as NetSuite's table does.
        Template::IdByExternalId { kind } => Ok(match kind {
            RecordKind::Customer => &[RecordKind::Customer][..],
            _ => RecordKind::TRANSACTIONS,
        }
        .iter()
        .flat_map(|k| st.records(*k))
        .filter(|r| r.external_id.as_deref() == params.first().map(String::as_str))
        .map(|r| row(&[("id", r.id.to_string())]))
        .collect()),
        Template::Stock { items, .. } => super::stock::rows(st, *items, params),
        Template::ChangedLines | Template::ChangedItemLocations { .. } => {
            super::sweep::rows(st, t, params)
        }
        Template::AllItems { after } => {
            let floor: u64 = if *after {
                params
                    .first()
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| "id > ? needs a numeric parameter".to_string())?
            } else {
                0
            };
            Ok(st
                .items
                .range(floor.saturating_add(u64::from(*after))..)
                .map(|(_, i)| row(&[("id", i.id.to_string()), ("itemid", i.itemid.clone())]))
                .collect())
        }
    }
}

fn bad_param(detail: &str, param: &str) -> Response {
    ns_error(
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER",
        detail,
        &[("o:errorQueryParam", param)],
    )
}

/// `POST /services/rest/query/v1/suiteql?limit=&offset=`.
pub(super) async fn suiteql(
    State(sb): State<Arc<NetSuiteSandbox>>,
    Query(page): Query<PageQuery>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let transient = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("transient"))
        });
    if !transient {
        return ns_error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "SuiteQL requests need the header Prefer: transient.",
            &[("o:errorHeader", "Prefer")],
        );
    }
    let parse_num = |v: &Option<String>, default: u64| match v {
        None => Some(default),
        Some(s) => s.parse::<u64>().ok(),
    };
    let Some(limit) = parse_num(&page.limit, MAX_LIMIT) else {
        return bad_param("The limit query parameter must be a number.", "limit");
    };
    let Some(offset) = parse_num(&page.offset, 0) else {
        return bad_param("The offset query parameter must be a number.", "offset");
    };
    if limit == 0 || limit > MAX_LIMIT {
        return bad_param(
            &format!("The limit query parameter must be between 1 and {MAX_LIMIT}."),
            "limit",
        );
    }
    if offset % limit != 0 {
        return bad_param(
            "The offset query parameter must be a multiple of the limit query parameter.",
            "offset",
        );
    }
    if offset + limit > MAX_ROWS || offset / limit >= MAX_PAGES {
        return bad_param(
            &format!("SuiteQL returns at most {MAX_ROWS} rows and {MAX_PAGES} pages per query."),
            "offset",
        );
    }
    let Ok(body) = serde_json::from_slice::<QueryBody>(&body) else {
        return ns_error(
            StatusCode::BAD_REQUEST,
            "INVALID_CONTENT",
            "The request body must be {\"q\": \"...\", \"params\": [...]}.",
            &[],
        );
    };
    let params: Vec<String> = body
        .params
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    let Some(template) = parse(&body.q) else {
        return ns_error(
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER",
            &format!("sandbox does not understand this query: {}", body.q),
            &[],
        );
    };
    if placeholders(&template) != params.len() {
        return ns_error(
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER",
            &format!(
                "The query has {} parameters but {} values were sent.",
                placeholders(&template),
                params.len()
            ),
            &[],
        );
    }
    let rows = {
        let st = sb.state.lock();
        match run(&st, &template, &params) {
            Ok(rows) => rows,
            Err(detail) => {
                return ns_error(StatusCode::BAD_REQUEST, "INVALID_PARAMETER", &detail, &[])
            }
        }
    };
    let total = rows.len() as u64;
    let items: Vec<Value> = rows
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(Value::Object)
        .collect();
    let has_more = offset + (items.len() as u64) < total;
    let href = |o: u64| {
        format!(
            "{}/services/rest/query/v1/suiteql?limit={limit}&offset={o}",
            sb.base_url()
        )
    };
    let mut links = Vec::new();
    let last = if total == 0 {
        0
    } else {
        (total - 1) / limit * limit
    };
    if offset > 0 {
        links.push(json!({"rel": "previous", "href": href(offset - limit)}));
    }
    links.push(json!({"rel": "first", "href": href(0)}));
    if has_more {
        links.push(json!({"rel": "next", "href": href(offset + limit)}));
    }
    links.push(json!({"rel": "last", "href": href(last)}));
    links.push(json!({"rel": "self", "href": href(offset)}));
    Json(json!({
        "links": links,
        "count": items.len(),
        "hasMore": has_more,
        "items": items,
        "offset": offset,
        "totalResults": total,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_bridge_templates() {
        assert_eq!(
            parse("SELECT id, itemid AS sku FROM item WHERE itemid IN (?, ?, ?) ORDER BY id"),
            Some(Template::ItemsBySku {
                field: "itemid".into(),
                alias: "sku".into(),
                placeholders: 3
            })
        );
        assert_eq!(
            parse("select id from TRANSACTION where externalId = ?"),
            Some(Template::IdByExternalId {
                kind: RecordKind::SalesOrder
            })
        );
        assert_eq!(
            parse("SELECT id FROM customer WHERE externalid = ?"),
            Some(Template::IdByExternalId {
                kind: RecordKind::Customer
            })
        );
        assert_eq!(
            parse("SELECT id, itemid FROM item ORDER BY id"),
            Some(Template::AllItems { after: false })
        );
        assert_eq!(
            parse("SELECT id, itemid FROM item WHERE id > ? ORDER BY id"),
            Some(Template::AllItems { after: true })
        );
    }

    #[test]
    fn refuses_everything_else() {
        for q in [
            "SELECT * FROM item",
            "SELECT id, itemid AS sku FROM item WHERE upccode IN (?)",
            "SELECT id FROM transaction WHERE externalid = 'x'",
            "SELECT id FROM transaction WHERE externalid = ? OR 1=1",
            "SELECT id, itemid AS sku FROM item WHERE itemid IN () ORDER BY id",
            "DELETE FROM item",
        ] {
            assert_eq!(parse(q), None, "{q}");
        }
    }
}
