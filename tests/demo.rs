//! `demo` through the real binary, in a tiny configuration: it must play the stream and the
//! after-sale phase to its summary by itself, on the embedded backend, and exit 0 with every
//! order created, shipments pushed, the cancellation applied and the refund written; and
//! exit non-zero, saying what is missing, when the after-sale phase does not get there.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tiktok-netsuite-bridge");

fn tiny_demo(extra: &[&str]) -> Output {
    Command::new(BIN)
        .args(["demo", "--orders", "6", "--rate", "20"])
        .args(extra)
        .env_remove("REDIS_URL")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn row(stdout: &str, name: &str) -> String {
    stdout
        .lines()
        .find(|l| l.trim_start().starts_with(name))
        .unwrap_or_else(|| panic!("no {name:?} row in:\n{stdout}"))
        .to_string()
}

/// The figure of a row: what stands between its name and its note.
fn figure(stdout: &str, name: &str) -> String {
    let line = row(stdout, name);
    let rest = line.trim_start()[name.len()..].trim_start();
    rest.split("   ")
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// `"a / b"` → `(a, b)`.
fn pair(value: &str) -> (u64, u64) {
    let (a, b) = value
        .split_once(" / ")
        .unwrap_or_else(|| panic!("not a pair: {value:?}"));
    (a.parse().expect("number"), b.parse().expect("number"))
}

#[test]
fn a_tiny_demo_ends_by_itself_with_every_order_a_sales_order() {
    let started = Instant::now();
    let output = tiny_demo(&[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "demo failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );

    let row = |name: &str| row(&stdout, name);
    assert!(
        stdout.contains("embedded SQLite"),
        "says which backend:\n{stdout}"
    );
    assert!(row("sales orders created").contains("6 / 6"), "{stdout}");
    assert!(row("parked / released").contains("1 / 1"), "{stdout}");
    assert!(row("caught up by the poller").contains(" 1 "), "{stdout}");
    assert!(row("duplicates avoided").contains(" 2 "), "{stdout}");
    assert!(row("dead letters").contains(" 0 "), "{stdout}");
    assert!(
        row("order with fees").contains("4.19 fees, ties"),
        "{stdout}"
    );
    assert!(
        row("order with a gift").contains("gift line at 0"),
        "{stdout}"
    );
    assert!(row("latency p50 / p99").contains(" s / "), "{stdout}");

    // After the sale: three orders shipped in four item fulfillments (one split in two),
    // each pushed once; the callout delivered twice pushed once.
    assert_eq!(
        figure(&stdout, "shipments pushed to TikTok (ship calls)"),
        "4 / 4",
        "{stdout}"
    );
    let shipped = row("shipments pushed to TikTok (ship calls)");
    assert!(
        shipped.contains("4 packages shipped with tracking on 3 orders, 3 in transit")
            && shipped.contains("split in 2 packages"),
        "{stdout}"
    );
    assert_eq!(
        figure(&stdout, "duplicate callout deduped"),
        "1",
        "{stdout}"
    );
    assert!(
        row("duplicate callout deduped").contains("answered 200 and 200")
            && row("duplicate callout deduped").ends_with(": 1 ship call"),
        "{stdout}"
    );
    // The cancelled order: every line of its sales order closed.
    let (closed, lines) = pair(&figure(&stdout, "cancelled order: lines closed"));
    assert!(lines > 0 && closed == lines, "{stdout}");
    // The refund-only return: one credit memo, for what TikTok refunded.
    assert_eq!(figure(&stdout, "refund: credit memos"), "1", "{stdout}");
    let refund = row("refund: credit memos");
    let memo = refund
        .split("memo ")
        .nth(1)
        .and_then(|r| r.split(" for TikTok's ").next())
        .expect("memo total");
    assert!(
        refund.contains(&format!("for TikTok's {memo} USD")),
        "memo equals the refund: {stdout}"
    );

    // The closing settlement: one statement, one balanced journal entry, the payout once paid.
    let settled = row("settlement → journal entry");
    let debits = settled
        .split("debits ")
        .nth(1)
        .and_then(|r| r.split(" = credits ").next())
        .expect("debits");
    assert!(
        settled.contains(&format!("debits {debits} = credits {debits};"))
            && settled.contains("1 entry")
            && settled.ends_with("payout recorded"),
        "{stdout}"
    );

    // Where to send your own webhook, and the honest note about what the demo leaves out.
    assert!(
        stdout.contains("/webhooks/tiktok") && stdout.contains("curl -s"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Inventory sync is not in this demo"),
        "{stdout}"
    );
    // No progress-bar escape codes when stdout is not a terminal.
    assert!(
        !stdout.contains('\u{1b}'),
        "plain output expected:\n{stdout}"
    );
}

#[test]
fn an_after_sale_phase_short_of_its_end_state_fails_the_demo_and_says_why() {
    // No time to wait: the jobs of the last callouts and webhooks cannot have finished
    // (each needs NetSuite, which takes 300 ms a request here) when the phase reads back.
    let output = tiny_demo(&[
        "--after-sale-timeout-secs",
        "0",
        "--netsuite-latency-ms",
        "300",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "must fail:\n{stdout}\n{stderr}");
    assert!(
        stderr.contains("the after-sale phase did not reach its end state within 0 s"),
        "{stderr}"
    );
    // The summary still shows what was reached: the stream itself went fine.
    assert!(
        row(&stdout, "sales orders created").contains("6 / 6"),
        "{stdout}"
    );
    row(&stdout, "shipments pushed to TikTok (ship calls)");
}
