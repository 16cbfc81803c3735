//! tiktok-netsuite-bridge: signed TikTok Shop webhooks and NetSuite callouts in, Redis
//! Streams in the middle, NetSuite records and TikTok updates out.

pub mod admin_cli;
pub mod app;
pub mod config;
pub mod history;
pub mod ingress;
pub mod inventory;
pub mod jobs;
pub mod mapping;
pub mod metrics;
pub mod netsuite;
pub mod queue;
pub mod review;
pub mod server;
pub mod settlement;
pub mod state;
pub mod tiktok;
pub mod timers;
pub mod worker;
