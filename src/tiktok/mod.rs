//! TikTok Shop Partner API: request signing, webhook signatures, the client and its models.

pub mod authorization;
pub mod client;
pub mod error;
pub mod finance;
pub mod finance_models;
pub mod fulfillment;
pub mod inventory;
pub mod models;
pub mod ratelimit;
pub mod request;
pub mod shared_ratelimit;
pub mod sign;
pub mod token;
