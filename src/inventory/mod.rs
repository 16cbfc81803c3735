//! Inventory sync (flow I1, DESIGN.md §7): the pure sellable-quantity core (`sellable`),
//! its settings (`config`), the state-backed ledger, dirty set and catalog (`store`), and the
//! debounced pusher that turns dirty SKUs into TikTok inventory updates (`pusher`).

pub mod admin;
pub mod config;
pub mod metrics;
pub mod pusher;
pub mod sellable;
pub mod store;
pub mod sweep;
pub mod timers;

pub use config::InventoryConfig;
pub use sellable::{
    coalesce, kit_listing, kit_sellable, sellable, split_across_warehouses, AllocationRule,
    Coalesced, InFlightLedger, KitComponent, SkuChange, StockByLocation, UpdateBatch,
    MAX_SKUS_PER_UPDATE, MAX_TIKTOK_QUANTITY,
};
