//! NetSuite REST: authentication (OAuth 2.0 client credentials, TBA), records, SuiteQL.

pub mod client;
pub mod records;
