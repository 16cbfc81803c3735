//! NetSuite REST: authentication (OAuth 2.0 client credentials, TBA), records, SuiteQL.
//! `client` is the entry point; the other modules are its pure parts, kept separate so the
//! reference test vectors and the sandbox can use them directly.

pub mod callout;
pub mod client;
pub mod error;
pub mod lines;
pub mod oauth2;
pub mod records;
pub mod shared_slots;
pub mod stock;
pub mod suiteql;
pub mod sweep;
pub mod tba;
pub mod transactions;

pub use client::{NetSuiteClient, RetryPolicy};
pub use error::NetSuiteError;
pub use tba::default_rest_base;
