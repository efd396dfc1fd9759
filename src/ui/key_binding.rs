//! Which key the form starts with, and what the page says about a link's
//! endpoint: a remembered key is filled in only for the endpoint origin it
//! was given for, so a link (or a job file) that points Pacer elsewhere
//! cannot make it send the key there.
//!
//! Pure: the caller reads the storage and the page's address.

use pacer_core::input::endpoint_origin;

/// Key the bundled emulator accepts (it takes any non-empty key).
pub const DEMO_KEY: &str = "demo-key";

/// A remembered key and the origin it was given for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundKey {
    /// `scheme://host[:port]` of the endpoint it was given for.
    pub origin: String,
    /// The key.
    pub key: String,
}

/// The key field at load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyAtLoad {
    /// What the key field starts with.
    pub key: String,
    /// The origin the key was filled in for from storage (`None`: not from
    /// storage).
    pub filled_for: Option<String>,
    /// What the page should say before anything is sent.
    pub notice: Option<String>,
}

/// The key for `endpoint` at load: the one remembered for the endpoint's
/// origin, the demo key for the local emulator, else none. `from_link` is
/// true when the page's query string chose the endpoint; unless that is
/// the page's own emulator, the notice names it.
pub fn key_at_load(
    endpoint: &str,
    from_link: bool,
    stored: &[BoundKey],
    emulator: &str,
) -> KeyAtLoad {
    let origin = endpoint_origin(endpoint);
    let local = origin.is_some() && origin == endpoint_origin(emulator);
    let matching = stored
        .iter()
        .find(|s| origin.as_deref() == Some(s.origin.as_str()));
    let (key, filled_for) = match matching {
        Some(s) => (s.key.clone(), Some(s.origin.clone())),
        None if local => (DEMO_KEY.to_owned(), None),
        None => (String::new(), None),
    };
    let notice = (from_link && !local && matching.is_none()).then(|| {
        let origins: Vec<&str> = stored.iter().map(|s| s.origin.as_str()).collect();
        let remembered = if origins.is_empty() {
            String::new()
        } else {
            format!(
                " The keys remembered on this device are for {} only, so none was filled in.",
                origins.join(", ")
            )
        };
        format!(
            "This link set the endpoint to {}.{remembered} Check that you trust it before \
             entering a key: Pacer sends the key to that endpoint.",
            endpoint.trim()
        )
    });
    KeyAtLoad {
        key,
        filled_for,
        notice,
    }
}

/// When the endpoint moves from `old` to `new` by a file (a job or a
/// saved run) rather than by the user's hand: whether the key typed for
/// `old` must be cleared (a different origin), and what to say.
pub fn key_after_file(old: &str, new: &str, key: &str) -> Option<String> {
    if key.trim().is_empty() || endpoint_origin(old) == endpoint_origin(new) {
        return None;
    }
    Some(format!(
        "The key field was cleared: it was entered for {}, and the file sends to {}. Enter \
         the key for that endpoint if you trust it.",
        endpoint_origin(old).unwrap_or_else(|| old.trim().to_owned()),
        new.trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMULATOR: &str = "http://127.0.0.1:8080";

    fn bound(origin: &str) -> BoundKey {
        BoundKey {
            origin: origin.into(),
            key: "CANARY".into(),
        }
    }

    #[test]
    fn a_remembered_key_is_filled_in_for_its_origin_only() {
        let stored = [bound("https://api-us.restb.ai")];
        let at = key_at_load("https://API-US.restb.ai/", false, &stored, EMULATOR);
        assert_eq!(at.key, "CANARY");
        assert_eq!(at.filled_for.as_deref(), Some("https://api-us.restb.ai"));
        assert_eq!(at.notice, None);
        // A link elsewhere: empty, and said.
        let at = key_at_load("http://127.0.0.1:9302", true, &stored, EMULATOR);
        assert_eq!(at.key, "");
        let notice = at.notice.unwrap();
        assert!(notice.contains("http://127.0.0.1:9302"), "{notice}");
        assert!(notice.contains("https://api-us.restb.ai"), "{notice}");
        // A link to the remembered origin fills it in, silently.
        let at = key_at_load("https://api-us.restb.ai", true, &stored, EMULATOR);
        assert_eq!((at.key.as_str(), at.notice), ("CANARY", None));
        // Of several remembered keys, the one for the endpoint's origin.
        let mut two = stored.to_vec();
        two.push(BoundKey {
            origin: "http://127.0.0.1:9302".into(),
            key: "OTHER".into(),
        });
        let at = key_at_load("http://127.0.0.1:9302/", true, &two, EMULATOR);
        assert_eq!((at.key.as_str(), at.notice), ("OTHER", None));
    }

    #[test]
    fn the_emulator_keeps_its_demo_key() {
        // A real key remembered for another endpoint does not replace it.
        let stored = [bound("https://api-us.restb.ai")];
        let at = key_at_load(EMULATOR, false, &stored, EMULATOR);
        assert_eq!((at.key.as_str(), at.notice), (DEMO_KEY, None));
        let at = key_at_load(EMULATOR, true, &[], EMULATOR);
        assert_eq!((at.key.as_str(), at.notice), (DEMO_KEY, None));
        // A key remembered for the emulator is its own.
        let at = key_at_load(EMULATOR, false, &[bound(EMULATOR)], EMULATOR);
        assert_eq!(at.key, "CANARY");
    }

    #[test]
    fn a_link_without_a_remembered_key_still_names_its_endpoint() {
        let at = key_at_load("https://evil.test", true, &[], EMULATOR);
        assert_eq!(at.key, "");
        assert!(at
            .notice
            .unwrap()
            .starts_with("This link set the endpoint to https://evil.test."));
        assert_eq!(
            key_at_load("https://evil.test", false, &[], EMULATOR).notice,
            None
        );
    }

    #[test]
    fn a_file_pointing_elsewhere_clears_the_key() {
        let said = key_after_file("https://api-us.restb.ai", "https://evil.test", "K").unwrap();
        assert!(said.contains("https://evil.test"), "{said}");
        assert_eq!(
            key_after_file("https://a.test", "https://A.test/", "K"),
            None
        );
        assert_eq!(
            key_after_file("https://a.test", "https://b.test", " "),
            None
        );
    }
}
