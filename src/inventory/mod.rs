//! Inventory sync (flow I1, DESIGN.md §7): the pure sellable-quantity core (`sellable`),
//! its settings (`config::inventory`) and the state-backed ledger, dirty set and catalog (`store`).
//! The debounced pusher that turns dirty SKUs into TikTok inventory updates is a job-level
//! task (`jobs::inventory_push`), started by `timers::inventory`; its admin routes are in
//! `ingress::inventory_admin`.

pub mod metrics;
pub mod sellable;
pub mod store;

pub use crate::config::inventory::InventoryConfig;
pub use sellable::{
    coalesce, kit_listing, kit_sellable, sellable, split_across_warehouses, AllocationRule,
    Coalesced, InFlightLedger, KitComponent, SkuChange, StockByLocation, UpdateBatch,
    MAX_SKUS_PER_UPDATE, MAX_TIKTOK_QUANTITY,
};
