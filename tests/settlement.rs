//! S1 end to end over HTTP: the settlement timer finds statements in the TikTok sandbox,
//! the job reads every page of their transactions and writes one balanced journal entry per
//! statement to the NetSuite sandbox (which refuses unbalanced ones), records the payout
//! once TikTok pays, and the admin API shows per-order truth and the reconciliation.

#[path = "common/after_sale.rs"]
mod after_sale;
mod common;

use after_sale::{admin, dec_of, metrics_text};
use bridge::app::RunningBridge;
use common::{eventually, queue_idle, Harness};
use reqwest::Method;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sandbox::tiktok::fixtures::{SampleLine, SampleOrderOptions};
use sandbox::tiktok::{AdjustmentSpec, FeeRates, ReserveSpec, StatementSpec};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// GL accounts of the sandbox account, by group key.
struct Accounts(BTreeMap<&'static str, String>);

impl Accounts {
    fn create(h: &Harness) -> Accounts {
        let ns = &h.sandbox.netsuite;
        let mut m = BTreeMap::new();
        for (key, number, name, kind) in [
            ("clearing", "1210", "TikTok clearing", "OthCurrAsset"),
            (
                "payout",
                "1250",
                "TikTok payouts in transit",
                "OthCurrAsset",
            ),
            ("bank", "1010", "Operating bank", "Bank"),
            ("reserves", "1260", "TikTok reserves held", "OthCurrAsset"),
            ("other", "6990", "Other TikTok fees", "Expense"),
            ("commission", "6100", "TikTok commission", "Expense"),
            (
                "transaction_fees",
                "6110",
                "TikTok transaction fees",
                "Expense",
            ),
            ("affiliate", "6120", "Affiliate commissions", "Expense"),
            ("shipping", "6130", "TikTok shipping", "Expense"),
            ("adjustments", "6160", "TikTok adjustments", "Expense"),
        ] {
            m.insert(key, ns.add_account(number, name, kind));
        }
        Accounts(m)
    }

    fn spec(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn id(&self, key: &str) -> &str {
        &self.0[key]
    }
}

async fn start(h: &Harness, accounts: &Accounts) -> RunningBridge {
    start_with(h, accounts, &[]).await
}

async fn start_with(h: &Harness, accounts: &Accounts, extra: &[(&str, &str)]) -> RunningBridge {
    let spec = accounts.spec();
    let mut settings = vec![
        ("SETTLEMENT_ACCOUNTS", spec.as_str()),
        ("SETTLEMENT_CURRENCIES", "USD=1,GBP=2"),
        ("SETTLEMENT_PAGE_SIZE", "3"),
        ("SETTLEMENT_POLL_SECS", "1"),
        ("NETSUITE_SUBSIDIARY_ID", "3"),
    ];
    settings.extend_from_slice(extra);
    h.start(&settings).await
}

fn delivered(h: &Harness, id: &str, opts: &SampleOrderOptions) {
    h.order_with(
        id,
        "DELIVERED",
        &[SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 2)],
        opts,
    );
}

fn journal(h: &Harness, statement_id: &str) -> Option<Value> {
    h.sandbox
        .netsuite
        .journal_entry_by_external_id(&format!("tiktok-statement:{statement_id}"))
}

fn lines(je: &Value) -> Vec<Value> {
    je["line"]["items"].as_array().cloned().unwrap_or_default()
}

fn amount(line: &Value, side: &str) -> Decimal {
    line.get(side).map(dec_of).unwrap_or_default()
}

/// Net debit of an account over the entry's lines.
fn net_debit(je: &Value, account: &str) -> Decimal {
    lines(je)
        .iter()
        .filter(|l| l["account"]["id"] == account)
        .map(|l| amount(l, "debit") - amount(l, "credit"))
        .sum()
}

fn assert_balanced(je: &Value) {
    let debits: Decimal = lines(je).iter().map(|l| amount(l, "debit")).sum();
    let credits: Decimal = lines(je).iter().map(|l| amount(l, "credit")).sum();
    assert_eq!(debits, credits, "unbalanced entry {je:#}");
}

async fn written(h: &Harness, b: &RunningBridge, statement_id: &str) -> Value {
    eventually(WAIT, "journal entry written", || async {
        journal(h, statement_id).is_some()
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    journal(h, statement_id).expect("journal entry")
}

fn sid(head: &Value) -> String {
    head["id"].as_str().expect("statement id").to_string()
}

#[tokio::test]
async fn a_three_page_statement_becomes_one_balanced_entry_written_once() {
    let h = Harness::new().await;
    let accounts = Accounts::create(&h);
    let b = start(&h, &accounts).await;
    let opts = SampleOrderOptions::default();
    let ids: Vec<String> = (1..=5).map(|i| format!("57700000000000000{i}")).collect();
    for id in &ids {
        delivered(&h, id, &opts);
    }
    // A completed refund of one of the two units of the second order.
    h.sandbox
        .tiktok
        .add_return(json!({"return_id": "4001", "order_id": ids[1],
            "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
            "return_line_items": [{"order_line_item_id": format!("{}001", ids[1])}]}))
        .expect("return");
    let head = h
        .sandbox
        .tiktok
        .generate_statement(&StatementSpec {
            order_ids: ids.clone(),
            adjustments: vec![
                AdjustmentSpec {
                    kind: "PLATFORM_PENALTY".into(),
                    amount: dec!(-3.00),
                    order_id: None,
                },
                AdjustmentSpec {
                    kind: "LOGISTICS_REIMBURSEMENT".into(),
                    amount: dec!(1.25),
                    order_id: Some(ids[0].clone()),
                },
            ],
            reserves: vec![ReserveSpec {
                amount: dec!(-10.00),
                status: None,
            }],
            ..StatementSpec::default()
        })
        .expect("statement");
    let statement_id = sid(&head);
    let txs = h.sandbox.tiktok.statement_transactions(&statement_id);
    assert_eq!(txs.len(), 9, "5 sales, a refund, 2 adjustments, a reserve");

    let je = written(&h, &b, &statement_id).await;
    assert_balanced(&je);
    let settled = dec_of(&head["settlement_amount"]);
    assert_eq!(net_debit(&je, accounts.id("payout")), settled);
    assert_eq!(je["currency"]["id"], "1");
    assert_eq!(je["subsidiary"]["id"], "3");
    // Revenue credited to clearing, net of the refund; reserves held; fees debited.
    let revenue: Decimal = txs.iter().map(|t| dec_of(&t["revenue_amount"])).sum();
    assert_eq!(net_debit(&je, accounts.id("clearing")), -revenue);
    assert_eq!(net_debit(&je, accounts.id("reserves")), dec!(10.00));
    assert!(net_debit(&je, accounts.id("commission")) > Decimal::ZERO);
    assert_eq!(net_debit(&je, accounts.id("adjustments")), dec!(1.75));
    // Every page was read: 9 transactions at 3 a page.
    let path = format!("/finance/202501/statements/{statement_id}/statement_transactions");
    assert_eq!(h.sandbox.tiktok.calls(&path), 3);

    // Replays: the timer keeps polling (every second) and the job is queued again by hand.
    b.queue
        .enqueue(&bridge::queue::JobEnvelope::new(
            bridge::queue::Job::SettlementSync {
                shop_id: h.sandbox.tiktok.config().shop_id.clone(),
                statement_id: statement_id.clone(),
                statement_time: head["statement_time"].as_i64().unwrap(),
            },
        ))
        .await
        .expect("enqueue");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    let eid = format!("tiktok-statement:{statement_id}");
    assert_eq!(h.sandbox.netsuite.journal_entry_writes(&eid), 1);
    assert_eq!(h.sandbox.netsuite.journal_entries().len(), 1);
    assert_eq!(journal(&h, &statement_id).unwrap(), je);

    // Get Transactions by Order agrees: the sale less the refund.
    let by_order = b
        .tiktok
        .clone()
        .expect("worker runs")
        .get_order_transactions(&ids[1])
        .await
        .expect("order transactions");
    assert_eq!(by_order.revenue_amount, dec!(19.99));
    assert_eq!(by_order.sku_transactions.len(), 2);

    // Per-order truth through the admin API.
    let (status, rec) = admin(
        &b,
        Method::GET,
        &format!("/admin/settlements/{statement_id}"),
    )
    .await;
    assert_eq!(status, 200, "{rec}");
    let orders = rec["plan"]["orders"].as_object().expect("orders");
    assert_eq!(orders.len(), 5);
    assert_eq!(dec_of(&orders[&ids[1]]["revenue"]), dec!(19.99));
    assert!(rec["payout"].is_null());
    let (status, _) = admin(&b, Method::GET, "/admin/settlements/999").await;
    assert_eq!(status, 404);

    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn an_unknown_fee_is_booked_to_other_and_flagged() {
    let h = Harness::new().await;
    let accounts = Accounts::create(&h);
    let b = start(&h, &accounts).await;
    h.sandbox.tiktok.set_fee_rates(FeeRates {
        extra_fees: [("brand_new_fee_amount".to_string(), dec!(0.75))].into(),
        ..FeeRates::default()
    });
    delivered(&h, "577000000000000101", &SampleOrderOptions::default());
    let head = h
        .sandbox
        .tiktok
        .generate_statement(&StatementSpec {
            order_ids: vec!["577000000000000101".into()],
            ..StatementSpec::default()
        })
        .unwrap();
    let statement_id = sid(&head);
    let je = written(&h, &b, &statement_id).await;
    assert_balanced(&je);
    assert_eq!(net_debit(&je, accounts.id("other")), dec!(0.75));
    let (_, flags) = admin(&b, Method::GET, "/admin/review").await;
    let flag = flags["flags"]
        .as_array()
        .or(flags.as_array())
        .into_iter()
        .flatten()
        .find(|f| f["reason"] == "settlement_unmapped_fee")
        .cloned()
        .unwrap_or_else(|| panic!("no unmapped-fee flag in {flags:#}"));
    assert!(flag["detail"]
        .as_str()
        .unwrap()
        .contains("brand_new_fee_amount"));
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_statement_in_another_currency_carries_it() {
    let h = Harness::new().await;
    let accounts = Accounts::create(&h);
    let b = start(&h, &accounts).await;
    let gbp = SampleOrderOptions {
        currency: "GBP".into(),
        ..SampleOrderOptions::default()
    };
    delivered(&h, "577000000000000201", &gbp);
    let head = h
        .sandbox
        .tiktok
        .generate_statement(&StatementSpec {
            order_ids: vec!["577000000000000201".into()],
            ..StatementSpec::default()
        })
        .unwrap();
    assert_eq!(head["currency"], "GBP");
    let je = written(&h, &b, &sid(&head)).await;
    assert_balanced(&je);
    assert_eq!(je["currency"]["id"], "2");
    assert!(je["memo"].as_str().unwrap().contains("GBP"));
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn the_payout_is_recorded_once_when_the_payment_turns_paid() {
    let h = Harness::new().await;
    let accounts = Accounts::create(&h);
    let b = start(&h, &accounts).await;
    delivered(&h, "577000000000000301", &SampleOrderOptions::default());
    let head = h
        .sandbox
        .tiktok
        .generate_statement(&StatementSpec {
            order_ids: vec!["577000000000000301".into()],
            ..StatementSpec::default()
        })
        .unwrap();
    let statement_id = sid(&head);
    written(&h, &b, &statement_id).await;
    let payout_eid = format!("tiktok-payout:{statement_id}");
    assert!(h
        .sandbox
        .netsuite
        .journal_entry_by_external_id(&payout_eid)
        .is_none());

    h.sandbox
        .tiktok
        .pay_statement(&statement_id, Decimal::ONE, None)
        .expect("paid");
    eventually(WAIT, "payout recorded", || async {
        h.sandbox
            .netsuite
            .journal_entry_by_external_id(&payout_eid)
            .is_some()
    })
    .await;
    // More polls and a replayed job change nothing.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    let payout = h
        .sandbox
        .netsuite
        .journal_entry_by_external_id(&payout_eid)
        .unwrap();
    assert_balanced(&payout);
    let settled = dec_of(&head["settlement_amount"]);
    assert_eq!(net_debit(&payout, accounts.id("bank")), settled);
    assert_eq!(net_debit(&payout, accounts.id("payout")), -settled);
    assert_eq!(h.sandbox.netsuite.journal_entry_writes(&payout_eid), 1);
    assert_eq!(h.sandbox.netsuite.journal_entries().len(), 2);
    let (_, rec) = admin(
        &b,
        Method::GET,
        &format!("/admin/settlements/{statement_id}"),
    )
    .await;
    assert_eq!(rec["payout"]["record_type"], "journalEntry");
    assert!(metrics_text(&b)
        .await
        .contains("bridge_settlement_payouts_total 1"));
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn reconciliation_lists_an_order_settled_without_sales_order_and_one_never_settled() {
    let h = Harness::new().await;
    let accounts = Accounts::create(&h);
    let b = start(&h, &accounts).await;
    // Imported: a sales order exists, TikTok has not settled it.
    let imported = "577000000000000401";
    h.order(imported, &[SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 1)]);
    assert_eq!(h.webhook(&b, 1, imported).await, 200);
    eventually(WAIT, "sales order written", || async {
        h.sales_order(imported).is_some()
    })
    .await;
    // Settled by TikTok, never imported (no webhook): no sales order.
    let orphan = "577000000000000402";
    delivered(&h, orphan, &SampleOrderOptions::default());
    let head = h
        .sandbox
        .tiktok
        .generate_statement(&StatementSpec {
            order_ids: vec![orphan.into()],
            ..StatementSpec::default()
        })
        .unwrap();
    written(&h, &b, &sid(&head)).await;

    let (status, view) = admin(
        &b,
        Method::GET,
        "/admin/settlements/reconciliation?unsettled_days=0",
    )
    .await;
    assert_eq!(status, 200, "{view}");
    let ids = |key: &str| -> Vec<String> {
        view[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["order_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids("settled_without_sales_order"), vec![orphan.to_string()]);
    assert_eq!(ids("unsettled_sales_orders"), vec![imported.to_string()]);
    assert!(ids("revenue_mismatches").is_empty());
    // With the default age the young sales order is not listed yet.
    let (_, later) = admin(&b, Method::GET, "/admin/settlements/reconciliation").await;
    assert!(later["unsettled_sales_orders"]
        .as_array()
        .unwrap()
        .is_empty());
    let metrics = metrics_text(&b).await;
    assert!(metrics.contains(
        "bridge_settlement_reconciliation_orders{view=\"settled_without_sales_order\"} 1"
    ));
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn the_netsuite_sandbox_refuses_an_unbalanced_entry_over_http() {
    let h = Harness::new().await;
    let accounts = Accounts::create(&h);
    let b = start(&h, &accounts).await;
    let client = b.netsuite.clone().expect("worker runs");
    let entry = |credit: &str| {
        json!({"externalId": "je-1", "tranDate": "2026-12-01", "line": {"items": [
            {"account": {"id": accounts.id("payout")}, "debit": 10.00},
            {"account": {"id": accounts.id("clearing")}, "credit": credit.parse::<f64>().unwrap()}
        ]}})
    };
    let err = client
        .upsert("journalEntry", "je-1", &entry("9.99"), &["line"])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not in balance"), "{err}");
    assert!(h.sandbox.netsuite.journal_entries().is_empty());
    client
        .upsert("journalEntry", "je-1", &entry("10.00"), &["line"])
        .await
        .expect("a balanced entry is accepted");
    assert_eq!(h.sandbox.netsuite.journal_entries().len(), 1);
    b.shutdown().await;
    h.cleanup().await;
}

/// The README's worked example, from the sandbox's own statement through the pure mapping.
#[tokio::test]
async fn the_readme_worked_example_ties() {
    let h = Harness::new().await;
    delivered(&h, "577000000000000501", &SampleOrderOptions::default());
    let head = h
        .sandbox
        .tiktok
        .generate_statement(&StatementSpec {
            order_ids: vec!["577000000000000501".into()],
            ..StatementSpec::default()
        })
        .unwrap();
    assert_eq!(dec_of(&head["settlement_amount"]), dec!(37.74));
    let statement: bridge::tiktok::finance::Statement = serde_json::from_value(head).unwrap();
    let txs: Vec<bridge::tiktok::finance::StatementTransaction> = serde_json::from_value(
        Value::Array(h.sandbox.tiktok.statement_transactions(&statement.id)),
    )
    .unwrap();
    let map = bridge::settlement::AccountMap::parse(
        "clearing=1210,payout=1250,bank=1010,other=6990,commission=6100,transaction_fees=6110,shipping=6130",
    )
    .unwrap();
    let plan = bridge::settlement::plan(&statement, &txs, &map).unwrap();
    let got: Vec<(String, String, String)> = plan
        .lines
        .iter()
        .map(|l| (l.account.clone(), l.debit.to_string(), l.credit.to_string()))
        .collect();
    let want = [
        ("1210", "0", "39.98"),
        ("6100", "2.40", "0"),
        ("6110", "1.33", "0"),
        ("6130", "0", "1.49"),
        ("1250", "37.74", "0"),
    ];
    assert_eq!(
        got,
        want.iter()
            .map(|(a, d, c)| (a.to_string(), d.to_string(), c.to_string()))
            .collect::<Vec<_>>()
    );
    h.cleanup().await;
}

/// Settled revenue is compared with the sales order net of the refunds O3 wrote: a refunded
/// order ties, an order TikTok settled for another amount is listed.
#[tokio::test]
async fn reconciliation_nets_refunds_and_lists_a_revenue_mismatch() {
    let h = Harness::new().await;
    let accounts = Accounts::create(&h);
    let b = start(&h, &accounts).await;
    let refunded = "577000000000000601";
    let repriced = "577000000000000602";
    let tshirts = SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 2);
    for id in [refunded, repriced] {
        h.order(id, std::slice::from_ref(&tshirts));
        assert_eq!(h.webhook(&b, 1, id).await, 200);
        eventually(WAIT, "sales order written", || async {
            h.sales_order(id).is_some()
        })
        .await;
    }
    // One of the two units refunded (no goods back), through O3: one credit memo.
    let unit = format!("{refunded}001");
    h.sandbox
        .tiktok
        .add_return(json!({
            "return_id": "4006", "order_id": refunded, "return_type": "REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
            "return_line_items": [{"order_line_item_id": unit, "sku_id": tshirts.sku_id}],
            "refund_amount": {"currency": "USD", "refund_total": "19.99"},
        }))
        .unwrap();
    assert_eq!(h.webhook(&b, 12, refunded).await, 200);
    eventually(WAIT, "credit memo written", || async {
        !h.sandbox.netsuite.records_of("creditMemo").is_empty()
    })
    .await;
    // TikTok settles the second order at another price than it was sold at.
    h.sandbox
        .tiktok
        .insert_order(sandbox::tiktok::fixtures::sample_order(
            repriced,
            "DELIVERED",
            &[SampleLine::new("TSHIRT-BLK-M", dec!(17.99), 2)],
        ))
        .unwrap();
    let head = h
        .sandbox
        .tiktok
        .generate_statement(&StatementSpec {
            order_ids: vec![refunded.into(), repriced.into()],
            ..StatementSpec::default()
        })
        .unwrap();
    assert_eq!(
        h.sandbox.tiktok.statement_transactions(&sid(&head)).len(),
        3,
        "two sales and the refund"
    );
    written(&h, &b, &sid(&head)).await;
    let (_, view) = admin(&b, Method::GET, "/admin/settlements/reconciliation").await;
    let mismatches = view["revenue_mismatches"].as_array().unwrap();
    assert_eq!(mismatches.len(), 1, "{view:#}");
    assert_eq!(mismatches[0]["order_id"], repriced);
    assert_eq!(dec_of(&mismatches[0]["settled_revenue"]), dec!(35.98));
    assert_eq!(dec_of(&mismatches[0]["expected_revenue"]), dec!(39.98));
    assert!(view["settled_without_sales_order"]
        .as_array()
        .unwrap()
        .is_empty());
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn the_payout_can_be_a_netsuite_transfer() {
    let h = Harness::new().await;
    let accounts = Accounts::create(&h);
    let b = start_with(&h, &accounts, &[("SETTLEMENT_PAYOUT_RECORD", "transfer")]).await;
    delivered(&h, "577000000000000701", &SampleOrderOptions::default());
    let head = h
        .sandbox
        .tiktok
        .generate_statement(&StatementSpec {
            order_ids: vec!["577000000000000701".into()],
            ..StatementSpec::default()
        })
        .unwrap();
    let statement_id = sid(&head);
    written(&h, &b, &statement_id).await;
    h.sandbox
        .tiktok
        .pay_statement(&statement_id, Decimal::ONE, None)
        .unwrap();
    eventually(WAIT, "transfer written", || async {
        !h.sandbox.netsuite.transfers().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    let transfers = h.sandbox.netsuite.transfers();
    assert_eq!(transfers.len(), 1);
    let t = &transfers[0];
    assert_eq!(t["fromAccount"]["id"], accounts.id("payout"));
    assert_eq!(t["toAccount"]["id"], accounts.id("bank"));
    assert_eq!(dec_of(&t["amount"]), dec_of(&head["settlement_amount"]));
    assert_eq!(t["externalId"], format!("tiktok-payout:{statement_id}"));
    assert_eq!(
        h.sandbox.netsuite.journal_entries().len(),
        1,
        "no payout journal"
    );
    b.shutdown().await;
    h.cleanup().await;
}
