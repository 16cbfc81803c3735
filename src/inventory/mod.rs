//! Inventory sync groundwork (DESIGN.md §7): the pure sellable-quantity core. Job handlers,
//! triggers and persistence build on these types; nothing here does I/O.

pub mod sellable;

pub use sellable::{
    coalesce, kit_sellable, sellable, AllocationRule, Coalesced, InFlightLedger, KitComponent,
    SkuChange, StockByLocation, UpdateBatch, MAX_SKUS_PER_UPDATE, MAX_TIKTOK_QUANTITY,
};
