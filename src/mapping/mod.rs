//! Pure mapping from TikTok orders to NetSuite records (DESIGN.md §6). No I/O here.
