//! Keeps secrets out of error texts: a browser's fetch error may quote the
//! request's URL ("Failed to parse URL from …?client_key=…"), and from a
//! failure reason the text goes on to the page, IndexedDB, exports and job
//! files. [`scrub_secrets`] is applied where such texts are made.

/// What a hidden secret reads as.
pub const HIDDEN: &str = "[hidden]";

/// `text` with every secret replaced by [`HIDDEN`]: the value of any
/// `client_key=` parameter (any case, up to the next `&`, space, quote or
/// bracket), a URL's user-info (`scheme://user:pw@`), and `key` itself
/// wherever it appears (raw or percent-encoded; keys shorter than 4
/// characters are not searched for, so that no ordinary word is hidden).
pub fn scrub_secrets(text: &str, key: &str) -> String {
    let mut out = hide_params(text);
    out = hide_userinfo(&out);
    let key = key.trim();
    if key.chars().count() >= 4 {
        out = out.replace(key, HIDDEN);
        let encoded: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
        if encoded != key {
            out = out.replace(&encoded, HIDDEN);
        }
    }
    out
}

/// Ends a parameter's value in a URL quoted by an error text.
fn ends_value(c: char) -> bool {
    matches!(
        c,
        '&' | '#' | '"' | '\'' | '<' | '>' | '(' | ')' | '[' | ']' | '`'
    ) || c.is_whitespace()
}

fn hide_params(text: &str) -> String {
    const NAME: &str = "client_key=";
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(found) = lower[at..].find(NAME) {
        let value_start = at + found + NAME.len();
        out.push_str(&text[at..value_start]);
        let value_len = text[value_start..]
            .find(ends_value)
            .unwrap_or(text.len() - value_start);
        if value_len > 0 {
            out.push_str(HIDDEN);
        }
        at = value_start + value_len;
    }
    out.push_str(&text[at..]);
    out
}

fn hide_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(found) = text[at..].find("://") {
        let authority_start = at + found + 3;
        out.push_str(&text[at..authority_start]);
        let rest = &text[authority_start..];
        let authority_len = rest
            .find(|c: char| matches!(c, '/' | '?' | '#') || ends_value(c))
            .unwrap_or(rest.len());
        let authority = &rest[..authority_len];
        match authority.rfind('@') {
            Some(end) => {
                out.push_str(HIDDEN);
                out.push_str(&authority[end..]);
            }
            None => out.push_str(authority),
        }
        at = authority_start + authority_len;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let key = "zz-canary-key-5Q8wX2vR7";
        let cases: &[(&str, &str)] = &[
            (
                "Failed to parse URL from http://256.0.0.1/vision/v2/multipredict?client_key=zz-canary-key-5Q8wX2vR7&model_id=m",
                "Failed to parse URL from http://256.0.0.1/vision/v2/multipredict?client_key=[hidden]&model_id=m",
            ),
            (
                "Request cannot be constructed from a URL that includes credentials: http://u:p@127.0.0.1:8080/x",
                "Request cannot be constructed from a URL that includes credentials: http://[hidden]@127.0.0.1:8080/x",
            ),
            ("CLIENT_KEY=abc def", "CLIENT_KEY=[hidden] def"),
            ("'?client_key=abc'", "'?client_key=[hidden]'"),
            ("the key zz-canary-key-5Q8wX2vR7 leaked", "the key [hidden] leaked"),
            ("NetworkError when attempting to fetch resource.", "NetworkError when attempting to fetch resource."),
            ("client_key=", "client_key="),
            ("https://a.example/x@y", "https://a.example/x@y"),
        ];
        for (text, want) in cases {
            assert_eq!(scrub_secrets(text, key), *want, "{text}");
        }
        // A key with characters that are percent-encoded in URLs.
        assert_eq!(scrub_secrets("x=a%2Bb%2Fc", "a+b/c"), "x=[hidden]");
        // Short keys are not searched for.
        assert_eq!(scrub_secrets("a key", "a"), "a key");
    }

    proptest! {
        #[test]
        fn the_key_never_survives(
            before in "\\PC{0,30}",
            after in "\\PC{0,30}",
            key in "[A-Za-z0-9+/=_.~-]{4,24}",
        ) {
            for text in [
                format!("{before}?client_key={key}&{after}"),
                format!("{before}{key}{after}"),
                format!("{before}http://{key}:x@h/{after}"),
            ] {
                let out = scrub_secrets(&text, &key);
                prop_assert!(!out.contains(&key), "{out}");
            }
        }
    }
}
