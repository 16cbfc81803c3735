//! Simulated TikTok Shop and NetSuite servers for tests, the demo and benchmarks.

pub mod netsuite;
pub mod tiktok;
