//! The admin API, sales order line and handler-context helpers, for files that include
//! this with `#[path]` next to `mod common;`. They live in `common::records`; new tests
//! reach them there or through `common::TestApp`.
#![allow(unused_imports)]

pub use crate::common::records::*;
