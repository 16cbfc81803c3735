//! `admin …`: operator commands as a client of a running replica's admin API (`/admin`), so
//! they work against any deployment the operator can reach and need no storage credentials.
//! Tables for people, `--json` for scripts (the API's own answer, unchanged).

use anyhow::{bail, Context};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::Method;
use serde_json::Value;
use std::fmt::Write as _;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of a replica that runs ingress (where `/admin` is served).
    #[arg(
        long,
        env = "BRIDGE_ADMIN_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,
    /// Print the API's JSON answer instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Jobs that failed permanently or ran out of attempts.
    #[command(subcommand)]
    DeadLetters(DeadLettersCommand),
    /// Jobs waiting for a condition (unknown SKUs, a deauthorized shop).
    #[command(subcommand)]
    Parked(ParkedCommand),
    /// What happened to one TikTok order: events, job runs, NetSuite writes, TikTok calls.
    History { order_id: String },
    /// Shop authorization and token expiry.
    Shops {
        #[command(subcommand)]
        command: Option<ShopsCommand>,
    },
    /// Inventory drift found by the last reconcile: TikTok's quantity vs the sellable one.
    Drift,
    /// Queue a full inventory reconcile now (its findings show in `admin drift`).
    Reconcile,
    /// A TikTok statement as booked (journal lines, orders, payout); without an id, the
    /// settlement reconciliation (orders settled without a sales order, and the reverse).
    Settlement {
        statement_id: Option<String>,
        /// Reconciliation: sales orders older than this many days with no settlement.
        #[arg(long, default_value_t = 14)]
        unsettled_days: u64,
    },
    /// Cases left for a person (a cancellation of an already fulfilled order).
    Review {
        /// Also list dismissed flags.
        #[arg(long)]
        all: bool,
        #[command(subcommand)]
        command: Option<ReviewCommand>,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum ReviewCommand {
    /// The case is handled: hide the flag (it is kept and never raised again).
    Dismiss {
        id: String,
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum DeadLettersCommand {
    /// Newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One dead letter with its full error.
    Show { id: String },
    /// Queue it again as a fresh job (attempt 1) and remove it.
    Replay { id: String },
    /// Replay every dead letter that matches (at least one filter): after an outage or a fix.
    ReplayMatching {
        /// Job kind, e.g. order_sync.
        #[arg(long)]
        kind: Option<String>,
        /// Text the error contains, e.g. "HTTP 503".
        #[arg(long)]
        error: Option<String>,
        /// Failed at or after this time (Unix ms).
        #[arg(long)]
        since_ms: Option<i64>,
        /// Failed before this time (Unix ms).
        #[arg(long)]
        until_ms: Option<i64>,
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Drop it for good.
    Discard { id: String },
}

#[derive(Debug, clap::Subcommand)]
pub enum ParkedCommand {
    List,
    /// Queue a fresh run of the parked job now.
    Release {
        job_id: String,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum ShopsCommand {
    /// The merchant authorized the app again: lift the deauthorization, release its jobs.
    Reauthorize { shop_id: String },
}

/// Ids go into paths: everything but unreserved characters is escaped.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn seg(s: &str) -> String {
    utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

struct AdminClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl AdminClient {
    async fn call(&self, method: Method, path: &str) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .http
            .request(method, &url)
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach the bridge at {}", self.base))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let error = body["error"].as_str().map(str::to_string);
        match (status.as_u16(), error) {
            (401, _) => bail!("the bridge refused the token: is ADMIN_TOKEN the service's?"),
            (404, None) => bail!("{url} answered 404: is this the bridge?"),
            (404, Some(e)) if e == "not found" => bail!(
                "{url} answered 404: the admin API is off (no ADMIN_TOKEN on the service) or this is not the bridge"
            ),
            (_, Some(e)) => bail!("{status}: {e}"),
            (_, None) => bail!("{status}: {}", text.trim()),
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    // ADMIN_TOKEN, or the file ADMIN_TOKEN_FILE names, as the service reads it.
    let from_file = crate::config::secrets::file_overlay(&crate::config::Env)?;
    let token = std::env::var("ADMIN_TOKEN")
        .ok()
        .or_else(|| from_file.get("ADMIN_TOKEN").cloned())
        .filter(|t| !t.trim().is_empty())
        .context(
            "ADMIN_TOKEN (or ADMIN_TOKEN_FILE) is not set: the admin API needs the token the service runs with",
        )?;
    let client = AdminClient {
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .context("cannot build the HTTP client")?,
        base: args.url.trim_end_matches('/').to_string(),
        token,
    };
    let (method, path, render): (Method, String, fn(&Value) -> String) = match &args.command {
        AdminCommand::DeadLetters(c) => match c {
            DeadLettersCommand::List { limit } => (
                Method::GET,
                format!("/admin/dead-letters?limit={limit}"),
                render_dead_letters,
            ),
            DeadLettersCommand::Show { id } => (
                Method::GET,
                format!("/admin/dead-letters/{}", seg(id)),
                render_dead_letter,
            ),
            DeadLettersCommand::Replay { id } => (
                Method::POST,
                format!("/admin/dead-letters/{}/replay", seg(id)),
                render_replayed,
            ),
            DeadLettersCommand::ReplayMatching {
                kind,
                error,
                since_ms,
                until_ms,
                limit,
            } => {
                let mut query = Vec::new();
                if let Some(k) = kind {
                    query.push(format!("kind={}", seg(k)));
                }
                if let Some(e) = error {
                    query.push(format!("error={}", seg(e)));
                }
                if let Some(t) = since_ms {
                    query.push(format!("since_ms={t}"));
                }
                if let Some(t) = until_ms {
                    query.push(format!("until_ms={t}"));
                }
                if let Some(n) = limit {
                    query.push(format!("limit={n}"));
                }
                (
                    Method::POST,
                    format!("/admin/dead-letters/replay?{}", query.join("&")),
                    render_replayed_matching,
                )
            }
            DeadLettersCommand::Discard { id } => (
                Method::DELETE,
                format!("/admin/dead-letters/{}", seg(id)),
                render_discarded,
            ),
        },
        AdminCommand::Parked(c) => match c {
            ParkedCommand::List => (Method::GET, "/admin/parked".into(), render_parked),
            ParkedCommand::Release { job_id } => (
                Method::POST,
                format!("/admin/parked/{}/release", seg(job_id)),
                render_released,
            ),
        },
        AdminCommand::History { order_id } => (
            Method::GET,
            format!("/admin/orders/{}/history", seg(order_id)),
            render_history,
        ),
        AdminCommand::Shops { command: None } => (Method::GET, "/admin/shops".into(), render_shops),
        AdminCommand::Shops {
            command: Some(ShopsCommand::Reauthorize { shop_id }),
        } => (
            Method::POST,
            format!("/admin/shops/{}/reauthorize", seg(shop_id)),
            render_reauthorized,
        ),
        AdminCommand::Drift => (Method::GET, "/admin/inventory/drift".into(), render_drift),
        AdminCommand::Reconcile => (
            Method::POST,
            "/admin/inventory/reconcile".into(),
            render_reconcile,
        ),
        AdminCommand::Settlement {
            statement_id: Some(id),
            ..
        } => (
            Method::GET,
            format!("/admin/settlements/{}", seg(id)),
            render_settlement,
        ),
        AdminCommand::Settlement {
            statement_id: None,
            unsettled_days,
        } => (
            Method::GET,
            format!("/admin/settlements/reconciliation?unsettled_days={unsettled_days}"),
            render_settlement_reconciliation,
        ),
        AdminCommand::Review { all, command: None } => (
            Method::GET,
            format!("/admin/review?all={all}"),
            render_review,
        ),
        AdminCommand::Review {
            command: Some(ReviewCommand::Dismiss { id, note }),
            ..
        } => (
            Method::POST,
            match note {
                Some(n) => format!("/admin/review/{}/dismiss?note={}", seg(id), seg(n)),
                None => format!("/admin/review/{}/dismiss", seg(id)),
            },
            render_dismissed,
        ),
    };
    let answer = client.call(method, &path).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        print!("{}", render(&answer));
    }
    Ok(())
}

// ---- rendering: pure functions of the API's JSON ----

fn render_settlement(v: &Value) -> String {
    let s = &v["statement"];
    let plan = &v["plan"];
    let mut out = format!(
        "Statement {} of {}: {} {} ({}), journal entry {} ({}).\n",
        text(&s["id"]),
        time_secs(&s["statement_time"]),
        text(&s["settlement_amount"]),
        text(&s["currency"]),
        text(&s["payment_status"]),
        text(&v["journal_entry_id"]),
        text(&v["journal_external_id"]),
    );
    let lines: Vec<Vec<String>> = array(plan, "lines")
        .iter()
        .map(|l| {
            let amount = |k: &str| match text(&l[k]).as_str() {
                "0" => String::new(),
                other => other.to_string(),
            };
            vec![
                text(&l["account"]),
                amount("debit"),
                amount("credit"),
                text(&l["memo"]),
            ]
        })
        .collect();
    out.push_str(&table(&["ACCOUNT", "DEBIT", "CREDIT", "MEMO"], &lines));
    let orders: Vec<Vec<String>> = plan["orders"]
        .as_object()
        .map(|m| {
            m.values()
                .map(|o| {
                    vec![
                        text(&o["order_id"]),
                        text(&o["revenue"]),
                        text(&o["fee_total"]),
                        text(&o["shipping_cost"]),
                        text(&o["adjustments"]),
                        text(&o["settlement"]),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    if !orders.is_empty() {
        out.push('\n');
        out.push_str(&table(
            &[
                "ORDER",
                "REVENUE",
                "FEES",
                "SHIPPING",
                "ADJUSTMENTS",
                "SETTLED",
            ],
            &orders,
        ));
    }
    for u in array(plan, "unmapped") {
        let _ = writeln!(
            out,
            "Unmapped (booked to other): {} {}",
            text(&u["name"]),
            text(&u["amount"])
        );
    }
    match v.get("payout") {
        Some(p) if !p.is_null() => {
            let _ = writeln!(
                out,
                "Payout {} recorded as {} {} ({}).",
                text(&p["payment_id"]),
                text(&p["record_type"]),
                text(&p["internal_id"]),
                text(&p["amount"])
            );
        }
        _ => out.push_str("Payout not recorded yet.\n"),
    }
    out
}

fn render_settlement_reconciliation(v: &Value) -> String {
    let mut rows = Vec::new();
    for (key, label) in [
        ("settled_without_sales_order", "settled, no sales order"),
        ("unsettled_sales_orders", "sales order not settled"),
        ("revenue_mismatches", "revenue differs"),
    ] {
        for r in array(v, key) {
            let statements: Vec<String> = array(r, "statement_ids").iter().map(text).collect();
            rows.push(vec![
                label.to_string(),
                text(&r["order_id"]),
                text(&r["sales_order_id"]),
                text(&r["settled_revenue"]),
                text(&r["expected_revenue"]),
                if statements.is_empty() {
                    text(&r["age_days"])
                } else {
                    statements.join(",")
                },
            ]);
        }
    }
    if rows.is_empty() {
        return "Settlements reconcile: nothing to report.\n".into();
    }
    table(
        &[
            "CASE",
            "ORDER",
            "SALES ORDER",
            "SETTLED",
            "EXPECTED",
            "STATEMENTS / AGE",
        ],
        &rows,
    )
}

fn render_drift(v: &Value) -> String {
    let checked = int(&v["checked_at_ms"]).unwrap_or(0);
    if checked == 0 {
        return "No inventory reconcile has run yet (admin reconcile queues one).\n".into();
    }
    let mut out = format!(
        "Shop {} reconciled at {}: {} SKU(s) checked, {} drifted, {} unit(s) off.\n",
        text(&v["shop_id"]),
        fmt_ms(checked),
        text(&v["skus_checked"]),
        array(v, "drifted").len(),
        text(&v["drift_units"]),
    );
    let rows: Vec<Vec<String>> = array(v, "drifted")
        .iter()
        .map(|d| {
            let tiktok = int(&d["tiktok"]).unwrap_or(0);
            let sellable = int(&d["sellable"]).unwrap_or(0);
            vec![
                text(&d["seller_sku"]),
                text(&d["sku_id"]),
                tiktok.to_string(),
                sellable.to_string(),
                format!("{:+}", tiktok - sellable),
            ]
        })
        .collect();
    if !rows.is_empty() {
        out.push_str(&table(
            &["SELLER SKU", "TIKTOK SKU", "TIKTOK", "SELLABLE", "DRIFT"],
            &rows,
        ));
    }
    out
}

fn render_reconcile(v: &Value) -> String {
    format!(
        "Inventory reconcile queued as job {}; see `admin drift` once it ran.\n",
        text(&v["job_id"])
    )
}

/// `2025-11-27 14:03:05Z` from Unix milliseconds.
fn fmt_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let day = secs.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02}Z",
        crate::mapping::civil_date(secs),
        day / 3600,
        day % 3600 / 60,
        day % 60
    )
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn time_ms(v: &Value) -> String {
    int(v).map(fmt_ms).unwrap_or_else(|| "-".into())
}

fn time_secs(v: &Value) -> String {
    int(v)
        .map(|s| fmt_ms(s.saturating_mul(1000)))
        .unwrap_or_else(|| "unknown".into())
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// At most `max` characters, on one line.
fn clip(s: &str, max: usize) -> String {
    let one_line = s.replace(['\n', '\r'], " ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut out: String = one_line.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v[key].as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn render_dead_letters(v: &Value) -> String {
    let dead = array(v, "dead_letters");
    if dead.is_empty() {
        return "No dead letters.\n".into();
    }
    let rows: Vec<Vec<String>> = dead
        .iter()
        .map(|d| {
            let env = &d["envelope"];
            vec![
                text(&d["id"]),
                time_ms(&d["failed_at_ms"]),
                text(&env["job"]["kind"]),
                text(&env["job"]["order_id"]),
                text(&env["attempt"]),
                clip(&text(&d["error"]), 70),
            ]
        })
        .collect();
    table(
        &["ID", "FAILED AT", "KIND", "ORDER", "ATTEMPT", "ERROR"],
        &rows,
    )
}

fn render_dead_letter(d: &Value) -> String {
    let env = &d["envelope"];
    let mut out = String::new();
    for (k, val) in [
        ("Dead letter", text(&d["id"])),
        ("Failed at", time_ms(&d["failed_at_ms"])),
        ("Job", text(&env["id"])),
        ("Kind", text(&env["job"]["kind"])),
        ("Order", text(&env["job"]["order_id"])),
        ("Shop", text(&env["job"]["shop_id"])),
        ("Trigger", text(&env["job"]["trigger"])),
        ("Attempt", text(&env["attempt"])),
        ("First queued", time_ms(&env["enqueued_at_ms"])),
        ("Error", text(&d["error"])),
    ] {
        let _ = writeln!(out, "{k:<13} {val}");
    }
    out
}

fn render_replayed(v: &Value) -> String {
    format!(
        "Dead letter {} replayed as job {}.\n",
        text(&v["id"]),
        text(&v["job_id"])
    )
}

fn render_replayed_matching(v: &Value) -> String {
    format!(
        "{} dead letters matched, {} replayed.\n",
        v["matched"].as_u64().unwrap_or(0),
        v["replayed"].as_u64().unwrap_or(0)
    )
}

fn render_discarded(v: &Value) -> String {
    format!("Dead letter {} discarded.\n", text(&v["id"]))
}

fn reason(r: &Value) -> String {
    match r["kind"].as_str() {
        Some("unknown_sku") => {
            let skus: Vec<String> = array(r, "skus").iter().map(text).collect();
            format!("unknown SKUs: {}", skus.join(", "))
        }
        Some("shop_deauthorized") => format!("shop {} deauthorized", text(&r["shop_id"])),
        Some("totals_mismatch") => format!(
            "totals: TikTok {} {}, lines {}",
            text(&r["expected"]),
            text(&r["currency"]),
            text(&r["computed"])
        ),
        _ => r.to_string(),
    }
}

fn render_parked(v: &Value) -> String {
    let parked = array(v, "parked");
    if parked.is_empty() {
        return "Nothing parked.\n".into();
    }
    let rows: Vec<Vec<String>> = parked
        .iter()
        .map(|p| {
            let env = &p["envelope"];
            vec![
                text(&env["id"]),
                time_ms(&p["parked_at_ms"]),
                text(&env["job"]["order_id"]),
                clip(&reason(&p["reason"]), 70),
            ]
        })
        .collect();
    table(&["JOB", "PARKED AT", "ORDER", "REASON"], &rows)
}

fn render_released(v: &Value) -> String {
    format!(
        "Parked job {} released as job {}.\n",
        text(&v["job_id"]),
        text(&v["new_job_id"])
    )
}

fn render_review(v: &Value) -> String {
    let flags = array(v, "flags");
    if flags.is_empty() {
        return "Nothing to review.\n".into();
    }
    let rows: Vec<Vec<String>> = flags
        .iter()
        .map(|f| {
            vec![
                text(&f["id"]),
                time_ms(&f["flagged_at_ms"]),
                text(&f["order_id"]),
                text(&f["reason"]),
                if f["dismissed_at_ms"].is_null() {
                    "open".into()
                } else {
                    "dismissed".into()
                },
                clip(&text(&f["detail"]), 70),
            ]
        })
        .collect();
    table(
        &["FLAG", "FLAGGED AT", "ORDER", "REASON", "STATE", "DETAIL"],
        &rows,
    )
}

fn render_dismissed(v: &Value) -> String {
    format!("Review flag {} dismissed.\n", text(&v["flag"]["id"]))
}

/// One line per history entry, by kind.
fn history_summary(e: &Value) -> String {
    match e["kind"].as_str() {
        Some("event_received") => format!(
            "{} topic {} {}{}",
            text(&e["source"]),
            text(&e["topic"]),
            text(&e["outcome"]),
            e["job_id"]
                .as_str()
                .map(|j| format!(" as job {j}"))
                .unwrap_or_default()
        ),
        Some("job_run") => format!(
            "{} job {} attempt {}: {} ({}){}",
            text(&e["job_kind"]),
            text(&e["job_id"]),
            text(&e["attempt"]),
            text(&e["outcome"]),
            text(&e["detail"]),
            int(&e["duration_ms"])
                .map(|d| format!(" in {d} ms"))
                .unwrap_or_default()
        ),
        Some("netsuite_write") => format!(
            "{} {} internal id {}",
            text(&e["record_type"]),
            text(&e["external_id"]),
            text(&e["internal_id"])
        ),
        Some("tiktok_call") => format!(
            "{} {} ({} order(s) in the call){}",
            text(&e["endpoint"]),
            text(&e["outcome"]),
            text(&e["orders_in_call"]),
            e["error"]
                .as_str()
                .map(|err| format!(": {err}"))
                .unwrap_or_default()
        ),
        Some("admin_action") => format!("{}: {}", text(&e["action"]), text(&e["detail"])),
        _ => e.to_string(),
    }
}

fn render_history(v: &Value) -> String {
    let entries = array(v, "history");
    if entries.is_empty() {
        return format!("No history for order {}.\n", text(&v["order_id"]));
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                time_ms(&e["at_ms"]),
                text(&e["kind"]),
                clip(&history_summary(e), 110),
            ]
        })
        .collect();
    table(&["TIME", "WHAT", "DETAIL"], &rows)
}

fn render_shops(v: &Value) -> String {
    let rows: Vec<Vec<String>> = array(v, "shops")
        .iter()
        .map(|s| {
            vec![
                text(&s["shop_id"]),
                text(&s["authorization"]),
                time_secs(&s["access_token_expires_at"]),
                time_secs(&s["refresh_token_expires_at"]),
                time_secs(&s["authorization_expires_at"]),
            ]
        })
        .collect();
    table(
        &[
            "SHOP",
            "AUTHORIZATION",
            "ACCESS TOKEN EXPIRES",
            "REFRESH TOKEN EXPIRES",
            "AUTHORIZATION EXPIRES",
        ],
        &rows,
    )
}

fn render_reauthorized(v: &Value) -> String {
    format!(
        "Shop {} is {}; {} parked job(s) released.\n",
        text(&v["shop"]["shop_id"]),
        text(&v["shop"]["authorization"]),
        text(&v["released"])
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settlement_table_shows_lines_orders_unmapped_names_and_payout() {
        let v = json!({
            "statement": {"id": "7001", "statement_time": 1_764_633_600, "settlement_amount": "37.74",
                "currency": "USD", "payment_status": "PAID"},
            "journal_entry_id": "901", "journal_external_id": "tiktok-statement:7001",
            "plan": {
                "lines": [
                    {"account": "1210", "debit": "0", "credit": "39.98", "memo": "TikTok revenue"},
                    {"account": "1250", "debit": "37.74", "credit": "0", "memo": "TikTok settlement 7001"}
                ],
                "orders": {"577": {"order_id": "577", "revenue": "39.98", "fee_total": "-3.73",
                    "shipping_cost": "1.49", "adjustments": "0", "settlement": "37.74"}},
                "unmapped": [{"name": "brand_new_fee_amount", "amount": "-0.75"}]
            },
            "payout": {"payment_id": "9001", "record_type": "journalEntry", "internal_id": "902", "amount": "37.74"}
        });
        let out = render_settlement(&v);
        assert!(
            out.contains(
                "Statement 7001 of 2025-12-02 00:00:00Z: 37.74 USD (PAID), journal entry 901"
            ),
            "{out}"
        );
        assert!(
            out.lines().any(|l| l.starts_with("1250")
                && l.contains("37.74")
                && l.contains("TikTok settlement")),
            "{out}"
        );
        assert!(
            out.lines()
                .any(|l| l.starts_with("577") && l.contains("-3.73")),
            "{out}"
        );
        assert!(
            out.contains("Unmapped (booked to other): brand_new_fee_amount -0.75"),
            "{out}"
        );
        assert!(
            out.contains("Payout 9001 recorded as journalEntry 902 (37.74)."),
            "{out}"
        );
    }

    #[test]
    fn settlement_reconciliation_table_names_each_case() {
        let empty = json!({"settled_without_sales_order": [], "unsettled_sales_orders": [], "revenue_mismatches": []});
        assert!(render_settlement_reconciliation(&empty).contains("nothing to report"));
        let v = json!({
            "settled_without_sales_order": [{"order_id": "1", "statement_ids": ["7001"], "settled_revenue": "10"}],
            "unsettled_sales_orders": [{"order_id": "2", "sales_order_id": "55", "expected_revenue": "20", "age_days": 15}],
            "revenue_mismatches": []
        });
        let out = render_settlement_reconciliation(&v);
        assert!(
            out.lines()
                .any(|l| l.starts_with("settled, no sales order") && l.contains("7001")),
            "{out}"
        );
        assert!(
            out.lines().any(|l| l.starts_with("sales order not settled")
                && l.contains("55")
                && l.ends_with("15")),
            "{out}"
        );
    }

    #[test]
    fn drift_table_shows_each_sku_and_its_signed_drift() {
        let v = json!({"shop_id": "7494", "checked_at_ms": 1_664_095_733_123i64, "skus_checked": 3,
        "drift_units": 7, "drifted": [
            {"seller_sku": "CAP-RED", "sku_id": "11", "product_id": "1", "tiktok": 12, "sellable": 5}
        ]});
        let out = render_drift(&v);
        assert!(
            out.contains("3 SKU(s) checked, 1 drifted, 7 unit(s) off"),
            "{out}"
        );
        let row = out.lines().find(|l| l.starts_with("CAP-RED")).expect("row");
        assert!(
            row.contains("12") && row.contains("5") && row.ends_with("+7"),
            "{row}"
        );
        assert!(render_drift(&json!({"checked_at_ms": 0})).contains("No inventory reconcile"));
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(fmt_ms(0), "1970-01-01 00:00:00Z");
        assert_eq!(fmt_ms(1_664_095_733_123), "2022-09-25 08:48:53Z");
        assert_eq!(time_secs(&json!("1627587506")), "2021-07-29 19:38:26Z");
        assert_eq!(time_secs(&Value::Null), "unknown");
    }

    #[test]
    fn tables_align_columns() {
        let t = table(
            &["ID", "ERROR"],
            &[
                vec!["1-0".into(), "short".into()],
                vec!["123-45".into(), "x".into()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "ID      ERROR");
        assert_eq!(lines[1], "1-0     short");
        assert_eq!(lines[2], "123-45  x");
    }

    #[test]
    fn long_cells_are_clipped_to_one_line() {
        assert_eq!(clip("a\nb", 10), "a b");
        assert_eq!(clip("abcdefghijkl", 5), "abcd…");
    }

    #[test]
    fn dead_letters_show_order_and_error() {
        let v = json!({"dead_letters": [{
            "id": "1700000000000-0",
            "failed_at_ms": 1_700_000_000_000i64,
            "error": "netsuite: rejected",
            "envelope": {"id": "j1", "attempt": 1, "enqueued_at_ms": 0,
                         "job": {"kind": "order_sync", "order_id": "5764", "shop_id": "s", "trigger": "status_webhook"}}
        }]});
        let t = render_dead_letters(&v);
        assert!(
            t.contains("1700000000000-0") && t.contains("5764") && t.contains("netsuite: rejected"),
            "{t}"
        );
        assert_eq!(
            render_dead_letters(&json!({"dead_letters": []})),
            "No dead letters.\n"
        );
    }

    #[test]
    fn history_lines_name_what_happened() {
        let e = json!({"kind": "netsuite_write", "record_type": "salesOrder", "external_id": "tiktok-order:1", "internal_id": "42"});
        assert_eq!(
            history_summary(&e),
            "salesOrder tiktok-order:1 internal id 42"
        );
        let e = json!({"kind": "job_run", "job_kind": "order_sync", "job_id": "j", "attempt": 2, "outcome": "done", "detail": "ok", "duration_ms": 12});
        assert_eq!(
            history_summary(&e),
            "order_sync job j attempt 2: done (ok) in 12 ms"
        );
        let e = json!({"kind": "something_new", "x": 1});
        assert!(history_summary(&e).contains("something_new"));
    }

    #[test]
    fn review_flags_show_order_reason_and_state() {
        let out = render_review(&json!({"flags": [
            {"id": "cancellation:9", "reason": "cancel_after_fulfillment", "order_id": "9",
             "detail": "already fulfilled", "flagged_at_ms": 0},
            {"id": "cancellation:8", "reason": "cancel_after_fulfillment", "order_id": "8",
             "detail": "x", "flagged_at_ms": 0, "dismissed_at_ms": 5}
        ]}));
        assert!(out.contains("cancellation:9"), "{out}");
        assert!(out.contains("cancel_after_fulfillment"));
        assert!(out.contains("open") && out.contains("dismissed"));
        assert_eq!(render_review(&json!({"flags": []})), "Nothing to review.\n");
    }

    #[test]
    fn parked_reasons_are_readable() {
        assert_eq!(
            reason(&json!({"kind": "unknown_sku", "skus": ["A", "B"]})),
            "unknown SKUs: A, B"
        );
        assert_eq!(
            reason(&json!({"kind": "shop_deauthorized", "shop_id": "7"})),
            "shop 7 deauthorized"
        );
    }

    #[test]
    fn ids_are_escaped_in_paths() {
        assert_eq!(seg("1700000000000-0"), "1700000000000-0");
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
    }
}
