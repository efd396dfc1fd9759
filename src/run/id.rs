//! A run's identity: the text that names it in the browser's storage, in
//! its job files and exports, in the Web Lock its owner tab holds, and in
//! the messages tabs exchange about it.
//!
//! New ids are `crypto.randomUUID()` (made in `browser`); ids read from a
//! job file or from storage are outside data and are checked here.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest id accepted from outside (a UUID is 36 characters; a split
/// job's part adds a suffix).
pub const MAX_ID_LEN: usize = 96;

/// A run's id: 1 to [`MAX_ID_LEN`] characters of `[A-Za-z0-9._-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

impl RunId {
    /// `text` as an id, if it is one.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() || text.len() > MAX_ID_LEN {
            return Err(format!(
                "a run id has 1 to {MAX_ID_LEN} characters, not {}",
                text.len()
            ));
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err("a run id holds only letters, digits, '-', '_' and '.'".into());
        }
        Ok(Self(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of part `k` of `n` of this run's job, split into files: each
    /// part becomes a run of its own wherever it is imported.
    pub fn part(&self, k: usize, n: usize) -> Self {
        let mut id = format!("{}.{k}of{n}", self.0);
        id.truncate(MAX_ID_LEN);
        Self(id)
    }

    /// The name of the Web Lock held by the tab that runs this run.
    pub fn lock_name(&self) -> String {
        format!("{LOCK_PREFIX}{}", self.0)
    }

    /// The run whose ownership lock is `name`, if it is one.
    pub fn from_lock_name(name: &str) -> Option<Self> {
        Self::parse(name.strip_prefix(LOCK_PREFIX)?).ok()
    }

    /// A stable id for a run saved or exported before runs had ids,
    /// derived from what it sends: importing the same old job file twice
    /// then finds the same run (FNV-1a over the sources).
    pub fn legacy(sources: &[String]) -> Self {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for source in sources {
            for b in source.bytes().chain([0]) {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        Self(format!("legacy-{hash:016x}"))
    }
}

/// Prefix of the run-ownership Web Locks (the budget's locks use another).
const LOCK_PREFIX: &str = "pacer-run-";

impl TryFrom<String> for RunId {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> String {
        id.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_outside_are_checked() {
        let uuid = "3b241101-e2bb-4255-8caf-4136c566a962";
        assert_eq!(RunId::parse(uuid).unwrap().as_str(), uuid);
        assert!(RunId::parse("").is_err());
        assert!(RunId::parse("a b").is_err());
        assert!(RunId::parse("<script>").is_err());
        assert!(RunId::parse(&"x".repeat(MAX_ID_LEN + 1)).is_err());
        let json = format!("\"{uuid}\"");
        assert_eq!(serde_json::from_str::<RunId>(&json).unwrap().as_str(), uuid);
        assert!(serde_json::from_str::<RunId>("\"../x\"").is_err());
    }

    #[test]
    fn lock_names_round_trip_and_parts_differ() {
        let id = RunId::parse("abc").unwrap();
        assert_eq!(id.lock_name(), "pacer-run-abc");
        assert_eq!(RunId::from_lock_name(&id.lock_name()), Some(id.clone()));
        assert_eq!(RunId::from_lock_name("pacer-budget-abc"), None);
        assert_ne!(id.part(1, 2), id.part(2, 2));
        assert!(RunId::parse(id.part(1, 2).as_str()).is_ok());
    }

    #[test]
    fn legacy_ids_are_stable_and_tell_lists_apart() {
        let a = vec!["https://x/1.jpg".to_owned(), "https://x/2.jpg".to_owned()];
        let b = vec!["https://x/1.jpg".to_owned()];
        assert_eq!(RunId::legacy(&a), RunId::legacy(&a.clone()));
        assert_ne!(RunId::legacy(&a), RunId::legacy(&b));
        // Concatenation cannot collide: the sources are separated.
        let c = vec!["https://x/1.jpghttps://x/2.jpg".to_owned()];
        assert_ne!(RunId::legacy(&a), RunId::legacy(&c));
    }
}
