//! Pure mapping from TikTok orders to NetSuite records (DESIGN.md §6). No I/O here: callers
//! fetch the order and resolve SKUs to item ids, these functions decide what NetSuite holds.

mod address;
pub mod charges;
mod customer;
mod date;
mod error;
mod sales_order;

#[cfg(test)]
mod fixtures;

pub use address::shipping_address;
pub use customer::{customer, customer_external_id};
pub use date::civil_date;
pub use error::MappingError;
pub use sales_order::{
    map_order, missing_skus, sales_order, sales_order_external_id, skus, Mapped,
};
