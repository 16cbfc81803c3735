//! TikTok Shop Partner API: request signing, webhook signatures, the client and its models.

pub mod client;
pub mod models;
pub mod sign;
