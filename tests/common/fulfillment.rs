//! The callout, item fulfillment and ship-call helpers, for files that include this with
//! `#[path]` next to `mod common;`. They live in `common::shipping`; new tests reach them
//! there or through `common::TestApp`.
#![allow(unused_imports)]

pub use crate::common::shipping::*;
