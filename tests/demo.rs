//! `demo` through the real binary, in a tiny configuration: it must play the stream to its
//! summary by itself, on the embedded backend, and exit 0 with every order created.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tiktok-netsuite-bridge");

#[test]
fn a_tiny_demo_ends_by_itself_with_every_order_a_sales_order() {
    let started = Instant::now();
    let output = Command::new(BIN)
        .args(["demo", "--orders", "6", "--rate", "20"])
        .env_remove("REDIS_URL")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
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

    let row = |name: &str| -> String {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name:?} row in:\n{stdout}"))
            .to_string()
    };
    assert!(
        stdout.contains("embedded SQLite"),
        "says which backend:\n{stdout}"
    );
    assert!(row("sales orders created").contains("6 / 6"), "{stdout}");
    assert!(row("parked / released").contains("1 / 1"), "{stdout}");
    assert!(row("caught up by the poller").contains(" 1 "), "{stdout}");
    assert!(row("duplicates avoided").contains(" 2 "), "{stdout}");
    assert!(row("dead letters").contains(" 0 "), "{stdout}");
    assert!(row("latency p50 / p99").contains(" s / "), "{stdout}");
    // Where to send your own webhook, and the honest note about flows not built yet.
    assert!(
        stdout.contains("/webhooks/tiktok") && stdout.contains("curl -s"),
        "{stdout}"
    );
    assert!(stdout.contains("not built yet"), "{stdout}");
    // No progress-bar escape codes when stdout is not a terminal.
    assert!(
        !stdout.contains('\u{1b}'),
        "plain output expected:\n{stdout}"
    );
}
