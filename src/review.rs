//! Review flags: cases the bridge refuses to settle by itself (a cancellation of an order
//! NetSuite already fulfilled) and leaves for a person, listed by `GET /admin/review` and
//! dismissed there. A flag is raised once per case: raising it again, dismissed or not,
//! changes nothing, so reruns of the job that found the case are harmless.

use crate::state::{StateError, StateStore};
use serde::{Deserialize, Serialize};

/// Ids of every flag ever raised, newest last; the flags themselves live at `flag_key`.
const INDEX_KEY: &str = "review:index";
/// How many flag ids the index keeps.
const INDEX_MAX: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewFlag {
    /// Stable per case, e.g. `cancellation:<order id>:<cancel id>`.
    pub id: String,
    /// Machine-readable reason (`cancel_after_fulfillment`), also the metric label.
    pub reason: String,
    pub order_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_order_id: Option<String>,
    /// What happened and what the bridge left alone, for the person reviewing it.
    pub detail: String,
    pub flagged_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dismissed_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dismissed_note: Option<String>,
}

impl ReviewFlag {
    pub fn is_open(&self) -> bool {
        self.dismissed_at_ms.is_none()
    }
}

fn flag_key(id: &str) -> String {
    format!("review:flag:{id}")
}

fn decode(key: &str, raw: &str) -> Result<ReviewFlag, StateError> {
    serde_json::from_str(raw).map_err(|e| StateError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    })
}

fn encode(flag: &ReviewFlag) -> String {
    // A struct of strings and integers always serializes.
    serde_json::to_string(flag).unwrap_or_default()
}

/// Stores the flag unless one with its id exists; true when it is new.
///
/// Crash-safe without a transaction: the id goes on the index first, then the flag is
/// stored. A crash in between leaves an id with no flag, which `list` skips and the
/// job's rerun completes (the index is deduplicated on read). Storing first would leave a
/// flag no listing ever shows, and a rerun would find it and stop.
pub async fn raise(state: &dyn StateStore, flag: &ReviewFlag) -> Result<bool, StateError> {
    let key = flag_key(&flag.id);
    if state.get(&key).await?.is_some() {
        return Ok(false);
    }
    state.list_push(INDEX_KEY, &flag.id, INDEX_MAX).await?;
    state.set(&key, &encode(flag), None).await?;
    Ok(true)
}

pub async fn get(state: &dyn StateStore, id: &str) -> Result<Option<ReviewFlag>, StateError> {
    let key = flag_key(id);
    match state.get(&key).await? {
        Some(raw) => decode(&key, &raw).map(Some),
        None => Ok(None),
    }
}

/// Flags newest first; dismissed ones only when `include_dismissed`.
pub async fn list(
    state: &dyn StateStore,
    include_dismissed: bool,
) -> Result<Vec<ReviewFlag>, StateError> {
    let mut ids = state.list_range(INDEX_KEY).await?;
    ids.reverse();
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    let keys: Vec<String> = ids.iter().map(|id| flag_key(id)).collect();
    let mut out = Vec::new();
    for (key, raw) in keys.iter().zip(state.get_many(&keys).await?) {
        let Some(raw) = raw else { continue };
        let flag = decode(key, &raw)?;
        if include_dismissed || flag.is_open() {
            out.push(flag);
        }
    }
    Ok(out)
}

/// Marks the flag dismissed (kept, so the case is not raised again); `None` when unknown.
pub async fn dismiss(
    state: &dyn StateStore,
    id: &str,
    note: Option<String>,
) -> Result<Option<ReviewFlag>, StateError> {
    let Some(mut flag) = get(state, id).await? else {
        return Ok(None);
    };
    if flag.is_open() {
        flag.dismissed_at_ms = Some(crate::queue::now_ms());
        flag.dismissed_note = note;
        state.set(&flag_key(id), &encode(&flag), None).await?;
    }
    Ok(Some(flag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::failing::FailingStore;

    fn flag(id: &str) -> ReviewFlag {
        ReviewFlag {
            id: id.into(),
            reason: "cancel_after_fulfillment".into(),
            order_id: "9".into(),
            sales_order_id: None,
            detail: "d".into(),
            flagged_at_ms: 1,
            dismissed_at_ms: None,
            dismissed_note: None,
        }
    }

    #[tokio::test]
    async fn a_raise_interrupted_between_its_writes_is_listed_once_rerun() {
        for (fail_set, fail_push) in [(true, false), (false, true)] {
            let dir = tempfile::tempdir().unwrap();
            let store = FailingStore::open(dir.path()).await;
            if fail_set {
                store.fail_next_set("");
            }
            if fail_push {
                store.fail_next_push();
            }
            assert!(raise(&store, &flag("cancellation:9:full")).await.is_err());
            // The rerun of the job raises it for real, and it is listed exactly once.
            assert!(raise(&store, &flag("cancellation:9:full")).await.unwrap());
            assert!(!raise(&store, &flag("cancellation:9:full")).await.unwrap());
            let listed = list(&store, true).await.unwrap();
            assert_eq!(listed.len(), 1, "set fails: {fail_set}");
            assert_eq!(listed[0].id, "cancellation:9:full");
            // Another case on the same order is its own flag.
            assert!(raise(&store, &flag("cancellation:9:c2")).await.unwrap());
            assert_eq!(list(&store, false).await.unwrap().len(), 2);
        }
    }
}
