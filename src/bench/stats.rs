//! Small numeric helpers for the benchmark: latency samples and their percentiles, and the
//! process's memory as the kernel reports it.

use serde::Serialize;
use std::time::Duration;

/// Latency samples in microseconds; sorted once when summarised.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    micros: Vec<u64>,
}

impl Samples {
    pub fn with_capacity(n: usize) -> Self {
        Samples {
            micros: Vec::with_capacity(n),
        }
    }

    pub fn push(&mut self, d: Duration) {
        self.micros
            .push(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn extend(&mut self, other: Samples) {
        self.micros.extend(other.micros);
    }

    /// Samples taken.
    pub fn count(&self) -> usize {
        self.micros.len()
    }

    pub fn summary(&self) -> LatencySummary {
        let mut v = self.micros.clone();
        v.sort_unstable();
        let ms = |us: u64| us as f64 / 1000.0;
        let pick = |p: f64| percentile_sorted(&v, p).map(ms).unwrap_or(f64::NAN);
        let mean = if v.is_empty() {
            f64::NAN
        } else {
            ms(v.iter().sum::<u64>()) / v.len() as f64
        };
        LatencySummary {
            count: v.len(),
            p50_ms: pick(50.0),
            p90_ms: pick(90.0),
            p99_ms: pick(99.0),
            max_ms: v.last().copied().map(ms).unwrap_or(f64::NAN),
            mean_ms: mean,
        }
    }
}

/// Nearest-rank percentile of sorted values (`p` in 0..=100).
pub fn percentile_sorted(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let idx = rank.clamp(1, sorted.len()) - 1;
    sorted.get(idx).copied()
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct LatencySummary {
    pub count: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// `VmRSS` (resident now) and `VmHWM` (peak resident) of this process, in MiB.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Memory {
    pub rss_mib: Option<f64>,
    pub peak_rss_mib: Option<f64>,
}

pub fn memory() -> Memory {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return Memory::default();
    };
    Memory {
        rss_mib: status_kib(&status, "VmRSS:").map(|k| k as f64 / 1024.0),
        peak_rss_mib: status_kib(&status, "VmHWM:").map(|k| k as f64 / 1024.0),
    }
}

fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// CPU time (user + system) this process has used so far, in seconds.
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat_cpu(&stat)
}

/// utime + stime from `/proc/<pid>/stat`, in USER_HZ ticks (100 per second on Linux).
fn parse_stat_cpu(stat: &str) -> Option<f64> {
    // The command name may hold spaces; fields resume after its closing parenthesis.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// CPU used over a stretch of wall time: this process, and the storage server when it is
/// a process of its own (Redis).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CpuUse {
    pub wall_s: f64,
    pub process_s: f64,
    pub server_s: Option<f64>,
}

impl CpuUse {
    pub fn add(&mut self, other: CpuUse) {
        self.wall_s += other.wall_s;
        self.process_s += other.process_s;
        self.server_s = match (self.server_s, other.server_s) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }

    /// Cores this process kept busy on average.
    pub fn process_cores(&self) -> f64 {
        self.process_s / self.wall_s
    }

    pub fn server_cores(&self) -> Option<f64> {
        self.server_s.map(|s| s / self.wall_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile_sorted(&v, 50.0), Some(50));
        assert_eq!(percentile_sorted(&v, 99.0), Some(99));
        assert_eq!(percentile_sorted(&v, 100.0), Some(100));
        assert_eq!(percentile_sorted(&[7], 99.0), Some(7));
        assert_eq!(percentile_sorted(&[], 99.0), None);
    }

    #[test]
    fn summary_in_milliseconds() {
        let mut s = Samples::default();
        for ms in [1u64, 2, 3, 4] {
            s.push(Duration::from_millis(ms));
        }
        let sum = s.summary();
        assert_eq!(sum.count, 4);
        assert_eq!(sum.p50_ms, 2.0);
        assert_eq!(sum.max_ms, 4.0);
        assert_eq!(sum.mean_ms, 2.5);
    }

    #[test]
    fn stat_cpu_skips_a_command_with_spaces() {
        let stat = "42 (tokio rt) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 1 0 0";
        assert_eq!(parse_stat_cpu(stat), Some(3.0));
    }

    #[test]
    fn status_fields_parse() {
        let text = "Name:\tx\nVmHWM:\t  204800 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(status_kib(text, "VmRSS:"), Some(10240));
        assert_eq!(status_kib(text, "VmHWM:"), Some(204800));
        assert_eq!(status_kib(text, "VmSwap:"), None);
    }
}
