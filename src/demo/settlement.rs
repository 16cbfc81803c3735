//! The demo's last phase: TikTok settles the stream's orders in one statement, the bridge's
//! settlement timer finds it and books one balanced journal entry, then TikTok pays it and
//! the payout moves from "in transit" to the bank. Its row shows the amounts tie.

use anyhow::Context;
use rust_decimal::Decimal;
use sandbox::tiktok::StatementSpec;
use sandbox::SandboxHandle;
use serde_json::Value;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Creates the demo's GL accounts in the sandbox; returns `SETTLEMENT_ACCOUNTS` for them.
pub(super) fn accounts(sandbox: &SandboxHandle) -> String {
    let ns = &sandbox.netsuite;
    [
        ("clearing", "1210", "TikTok clearing", "OthCurrAsset"),
        (
            "payout",
            "1250",
            "TikTok payouts in transit",
            "OthCurrAsset",
        ),
        ("bank", "1010", "Operating bank", "Bank"),
        ("other", "6990", "Other TikTok fees", "Expense"),
        ("commission", "6100", "TikTok commission", "Expense"),
        (
            "transaction_fees",
            "6110",
            "TikTok transaction fees",
            "Expense",
        ),
        ("shipping", "6130", "TikTok shipping", "Expense"),
    ]
    .into_iter()
    .map(|(key, number, name, kind)| format!("{key}={}", ns.add_account(number, name, kind)))
    .collect::<Vec<_>>()
    .join(",")
}

pub(super) struct Figures {
    entry: bool,
    statement_id: String,
    orders: usize,
    amount: Decimal,
    currency: String,
    debits: Decimal,
    credits: Decimal,
    lines: usize,
    payout: bool,
}

fn amount(v: Option<&Value>) -> Decimal {
    match v {
        Some(Value::Number(n)) => Decimal::from_str(&n.to_string()).unwrap_or_default(),
        Some(Value::String(s)) => Decimal::from_str(s).unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

async fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Settles `order_ids` in one statement and waits for the entry and, once paid, the payout.
pub(super) async fn run(
    order_ids: &[String],
    sandbox: &SandboxHandle,
    timeout: Duration,
) -> anyhow::Result<Figures> {
    let head = sandbox
        .tiktok
        .generate_statement(&StatementSpec {
            order_ids: order_ids.to_vec(),
            ..StatementSpec::default()
        })
        .map_err(anyhow::Error::msg)?;
    let statement_id = head["id"].as_str().context("statement id")?.to_string();
    let orders = sandbox.tiktok.statement_transactions(&statement_id).len();
    let eid = format!("tiktok-statement:{statement_id}");
    let je = wait_for(timeout, || {
        sandbox.netsuite.journal_entry_by_external_id(&eid)
    })
    .await;
    let entry = je.is_some();
    let lines = je
        .and_then(|je| je["line"]["items"].as_array().cloned())
        .unwrap_or_default();
    let debits: Decimal = lines.iter().map(|l| amount(l.get("debit"))).sum();
    let credits: Decimal = lines.iter().map(|l| amount(l.get("credit"))).sum();
    sandbox
        .tiktok
        .pay_statement(&statement_id, Decimal::ONE, None)
        .context("statement to pay")?;
    let payout_eid = format!("tiktok-payout:{statement_id}");
    let payout = entry
        && wait_for(timeout, || {
            sandbox.netsuite.journal_entry_by_external_id(&payout_eid)
        })
        .await
        .is_some();
    Ok(Figures {
        entry,
        statement_id,
        orders,
        amount: amount(head.get("settlement_amount")),
        currency: head["currency"].as_str().unwrap_or_default().to_string(),
        debits,
        credits,
        lines: lines.len(),
        payout,
    })
}

impl Figures {
    /// What did not reach its end state.
    pub(super) fn unmet(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.entry {
            out.push(format!(
                "no journal entry for statement {}",
                self.statement_id
            ));
        } else if self.debits != self.credits || self.debits.is_zero() {
            out.push(format!(
                "settlement entry does not balance ({} vs {})",
                self.debits, self.credits
            ));
        }
        if !self.payout {
            out.push("the payout was not recorded".into());
        }
        out
    }

    pub(super) fn rows(&self) -> Vec<(&'static str, String, String)> {
        vec![(
            "settlement → journal entry",
            format!("{} {}", self.amount, self.currency),
            format!(
                "statement {}: {} transactions → 1 entry of {} lines, debits {} = credits {}; payout {}",
                self.statement_id,
                self.orders,
                self.lines,
                self.debits,
                self.credits,
                if self.payout { "recorded" } else { "missing" }
            ),
        )]
    }
}
