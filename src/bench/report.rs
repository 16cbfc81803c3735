//! The benchmark's output: one row per DESIGN.md §9 figure (measured, target, verdict),
//! printed as a table and written as JSON beside the detailed measurements.

use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// Shown for context; no target applies.
    Info,
    /// The flow it measures does not exist yet.
    NotMeasured,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Info => "info",
            Verdict::NotMeasured => "n/a",
        }
    }

    pub fn from_check(ok: bool) -> Verdict {
        if ok {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// Stable key for machines (`ingress_rps_ratio`, ...).
    pub key: String,
    pub name: String,
    /// The headline number, when there is one (in `unit`).
    pub value: Option<f64>,
    pub unit: String,
    /// Human-readable measurement, with context.
    pub measured: String,
    pub target: String,
    pub verdict: Verdict,
}

impl Figure {
    /// A figure with a target: passes when `ok(value)` holds and the value is finite.
    pub fn checked(
        key: &str,
        name: &str,
        value: f64,
        unit: &str,
        measured: String,
        target: &str,
        ok: impl Fn(f64) -> bool,
    ) -> Figure {
        Figure {
            key: key.into(),
            name: name.into(),
            value: value.is_finite().then_some(value),
            unit: unit.into(),
            measured,
            target: target.into(),
            verdict: Verdict::from_check(value.is_finite() && ok(value)),
        }
    }

    pub fn info(key: &str, name: &str, value: f64, unit: &str, measured: String) -> Figure {
        Figure {
            key: key.into(),
            name: name.into(),
            value: value.is_finite().then_some(value),
            unit: unit.into(),
            measured,
            target: "—".into(),
            verdict: Verdict::Info,
        }
    }

    pub fn not_measured(key: &str, name: &str, target: &str, why: &str) -> Figure {
        Figure {
            key: key.into(),
            name: name.into(),
            value: None,
            unit: String::new(),
            measured: format!("not measured — {why}"),
            target: target.into(),
            verdict: Verdict::NotMeasured,
        }
    }
}

/// Renders rows as an aligned text table.
pub fn table(figures: &[Figure]) -> String {
    let headers = ["figure", "measured", "target (DESIGN §9)", "result"];
    let rows: Vec<[&str; 4]> = figures
        .iter()
        .map(|f| {
            [
                f.name.as_str(),
                f.measured.as_str(),
                f.target.as_str(),
                f.verdict.label(),
            ]
        })
        .collect();
    let mut widths = headers.map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: [&str; 4]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                s.push_str(" | ");
            }
            let pad = w.saturating_sub(cell.chars().count());
            s.push_str(cell);
            s.extend(std::iter::repeat_n(' ', pad));
        }
        let _ = writeln!(out, "{}", s.trim_end());
    };
    line(&mut out, headers);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let _ = writeln!(out, "{}", rule.join("-+-"));
    for r in rows {
        line(&mut out, r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nan_never_passes() {
        let f = Figure::checked("k", "n", f64::NAN, "x", "?".into(), "< 1", |v| v < 1.0);
        assert_eq!(f.verdict, Verdict::Fail);
        assert_eq!(f.value, None);
        let f = Figure::checked("k", "n", 0.5, "x", "0.5".into(), "< 1", |v| v < 1.0);
        assert_eq!(f.verdict, Verdict::Pass);
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&[
            Figure::info("a", "short", 1.0, "", "1".into()),
            Figure::not_measured("b", "a longer name", "p99 < 2 s", "not built"),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        let bar = lines[0].find('|').unwrap();
        assert_eq!(lines[2].find('|'), Some(bar));
        assert_eq!(lines[3].find('|'), Some(bar));
    }
}
