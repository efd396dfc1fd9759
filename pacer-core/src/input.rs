//! What the user typed, made into work: image URLs and model ids.
//!
//! Pure text handling for the input form. It owns the rule for "a URL Pacer
//! will send" (absolute `http://` or `https://` with a host) and never
//! touches the browser or the network. A small hand-written check instead of
//! the `url` crate keeps the wasm bundle small; the browser's own URL parser
//! still has the last word when the request is built.

use std::collections::HashSet;

/// The image sources found in the URL box.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedSources {
    /// Valid URLs in input order, each once.
    pub valid: Vec<String>,
    /// Entries that will not be sent, in input order.
    pub invalid: Vec<InvalidEntry>,
    /// Valid entries equal to an earlier one: skipped, or kept in `valid`
    /// when asked for ([`parse_sources_keeping_duplicates`]).
    pub duplicates: usize,
}

/// One entry of the URL box that is not a URL Pacer will send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidEntry {
    /// 1-based line of the entry.
    pub line: usize,
    /// The entry as typed.
    pub text: String,
    /// Why it is not sent, in words for the user.
    pub reason: &'static str,
}

/// Splits `text` into entries (newlines, then commas and whitespace), drops
/// blanks, keeps the first of equal valid URLs (counting the others) and
/// lists the rest as invalid.
pub fn parse_sources(text: &str) -> ParsedSources {
    parse(text, false)
}

/// [`parse_sources`], but an image listed twice is sent twice (still
/// counted in `duplicates`).
pub fn parse_sources_keeping_duplicates(text: &str) -> ParsedSources {
    parse(text, true)
}

fn parse(text: &str, keep_duplicates: bool) -> ParsedSources {
    let mut out = ParsedSources::default();
    let mut seen: HashSet<&str> = HashSet::new();
    for (index, line) in text.split('\n').enumerate() {
        for entry in split_entries(line) {
            match check_http_url(entry) {
                Ok(()) => {
                    if seen.insert(entry) {
                        out.valid.push(entry.to_owned());
                    } else {
                        out.duplicates += 1;
                        if keep_duplicates {
                            out.valid.push(entry.to_owned());
                        }
                    }
                }
                Err(reason) => out.invalid.push(InvalidEntry {
                    line: index + 1,
                    text: entry.to_owned(),
                    reason,
                }),
            }
        }
    }
    out
}

/// Model ids from free text: split on commas and whitespace, blanks dropped,
/// first of equal ids kept.
pub fn parse_models(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for model in split_entries(text) {
        if !out.iter().any(|m| m == model) {
            out.push(model.to_owned());
        }
    }
    out
}

/// Checks that `entry` is an absolute `http://` or `https://` URL with a
/// host; the error says what is wrong, for the user.
pub fn check_http_url(entry: &str) -> Result<(), &'static str> {
    if entry.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("contains spaces or control characters");
    }
    let rest = strip_scheme(entry).ok_or("not an http:// or https:// URL")?;
    let authority_end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    // Credentials may precede the host; the host is what follows the last '@'.
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = split_host_port(host_port)?;
    if host.is_empty() {
        return Err("no host");
    }
    if !valid_host(host) {
        return Err("invalid host");
    }
    if let Some(port) = port {
        let ok = port.is_empty()
            || (port.len() <= 5
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u32>().is_ok_and(|p| p <= 65_535));
        if !ok {
            return Err("invalid port");
        }
    }
    Ok(())
}

/// Checks an API endpoint (a base URL): an http(s) URL with a host and
/// nothing that could be or carry a secret. A user name or password, a
/// query or a fragment, or `client_key` anywhere are refused: the endpoint
/// is copied into share links, saved runs, job files and notices, and a
/// fetch of a URL with credentials fails with an error quoting the URL.
/// The error says what is wrong, for the user.
pub fn check_endpoint(endpoint: &str) -> Result<(), String> {
    let endpoint = endpoint.trim();
    check_http_url(endpoint).map_err(|reason| {
        format!(
            "The endpoint must be an http:// or https:// URL, e.g. https://api-us.restb.ai ({reason})."
        )
    })?;
    if endpoint.to_ascii_lowercase().contains("client_key") {
        return Err(
            "The endpoint must not carry the client key (client_key): enter the API's base URL, \
             e.g. https://api-us.restb.ai, and the key in its own field."
                .into(),
        );
    }
    let rest = strip_scheme(endpoint).unwrap_or(endpoint);
    let authority_end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    if rest[..authority_end].contains('@') {
        return Err(
            "The endpoint must not hold a user name or password (user:password@): Pacer sends \
             the client key only."
                .into(),
        );
    }
    if rest.contains(['?', '#']) {
        return Err(
            "The endpoint must be the API's base URL, without a ?query or #fragment.".into(),
        );
    }
    Ok(())
}

/// The origin of an endpoint, `scheme://host[:port]` in lower case with
/// the scheme's default port left out (`HTTPS://API.example:443/x` gives
/// `https://api.example`), or `None` if it is not an http(s) URL. A
/// remembered key is bound to this.
pub fn endpoint_origin(endpoint: &str) -> Option<String> {
    let endpoint = endpoint.trim();
    check_http_url(endpoint).ok()?;
    let scheme = if endpoint[..5].eq_ignore_ascii_case("https") {
        "https"
    } else {
        "http"
    };
    let rest = strip_scheme(endpoint)?;
    let authority_end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = split_host_port(host_port).ok()?;
    let host = host.to_lowercase();
    let default = if scheme == "https" { "443" } else { "80" };
    Some(match port.filter(|p| !p.is_empty() && *p != default) {
        Some(port) => {
            let port = port.trim_start_matches('0');
            format!(
                "{scheme}://{host}:{}",
                if port.is_empty() { "0" } else { port }
            )
        }
        None => format!("{scheme}://{host}"),
    })
}

/// What one rate budget is kept for: the endpoint's [`endpoint_origin`]
/// and its path without trailing slashes, so `HTTPS://API.example:443/v2/`
/// and `https://api.example/v2` share a budget (tabs spelling one API two
/// ways would otherwise each pace at the full rate). `None` where the
/// endpoint is not an http(s) URL. A proxy in front of the API is a
/// different endpoint and so a different budget: it keeps its own.
pub fn budget_scope(endpoint: &str) -> Option<String> {
    let origin = endpoint_origin(endpoint)?;
    let rest = strip_scheme(endpoint.trim())?;
    let path = rest
        .find('/')
        .map_or("", |start| &rest[start..])
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_end_matches('/');
    Some(format!("{origin}{path}"))
}

/// Entries of `text`: split on commas and whitespace, blanks dropped.
fn split_entries(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
}

/// What follows `http://` or `https://` (scheme case-insensitive).
fn strip_scheme(entry: &str) -> Option<&str> {
    for scheme in ["http://", "https://"] {
        if entry.len() >= scheme.len()
            && entry.is_char_boundary(scheme.len())
            && entry[..scheme.len()].eq_ignore_ascii_case(scheme)
        {
            return Some(&entry[scheme.len()..]);
        }
    }
    None
}

/// Splits `host[:port]`, minding bracketed IPv6 literals.
fn split_host_port(host_port: &str) -> Result<(&str, Option<&str>), &'static str> {
    if let Some(inner) = host_port.strip_prefix('[') {
        let close = inner.find(']').ok_or("invalid host")?;
        let literal = &inner[..close];
        let after = &inner[close + 1..];
        if literal.is_empty()
            || !literal
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err("invalid host");
        }
        return match after.strip_prefix(':') {
            Some(port) => Ok((&host_port[..close + 2], Some(port))),
            None if after.is_empty() => Ok((&host_port[..close + 2], None)),
            None => Err("invalid host"),
        };
    }
    Ok(match host_port.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (host_port, None),
    })
}

/// A registered name (unicode allowed) or a bracketed IPv6 literal, without
/// the characters URLs forbid in hosts.
fn valid_host(host: &str) -> bool {
    if host.starts_with('[') {
        return true; // checked by split_host_port
    }
    const FORBIDDEN: &[char] = &[
        '<', '>', '^', '|', '%', '[', ']', '"', '`', '{', '}', '\'', '*', '(', ')', ';', '=', '!',
        '$', '&', '+', ':',
    ];
    !host.contains(FORBIDDEN) && !host.split('.').all(str::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(text: &str) -> Vec<(usize, String, &'static str)> {
        parse_sources(text)
            .invalid
            .into_iter()
            .map(|e| (e.line, e.text, e.reason))
            .collect()
    }

    #[test]
    fn url_table() {
        let cases: &[(&str, bool)] = &[
            ("http://a.com/x.jpg", true),
            ("https://a.com", true),
            ("HTTPS://A.COM/X.JPG", true),
            ("http://127.0.0.1:8080/samples/img-0001.jpg", true),
            ("http://localhost:8080", true),
            ("http://user:pw@host.com/p", true),
            ("http://[::1]:8080/x", true),
            ("http://[::1]/x", true),
            ("https://bücher.example/straße.jpg", true),
            ("https://例え.jp/画像.png?q=1#f", true),
            ("http://a.com:/x", true),
            ("http://", false),
            ("https://", false),
            ("http:///x", false),
            ("http://:80/x", false),
            ("http://?q", false),
            ("http://a.com:99999/x", false),
            ("http://a.com:8x/x", false),
            ("http://a<b>.com", false),
            ("http://[::1", false),
            ("http://[zz]/", false),
            ("http://./", false),
            ("ftp://x", false),
            ("javascript:alert(1)", false),
            ("data:image/png;base64,AAAA", false),
            ("//a.com/x", false),
            ("a.com/x.jpg", false),
            ("httpx://a.com", false),
            ("http:a.com", false),
            ("é", false),
        ];
        for (url, ok) in cases {
            assert_eq!(check_http_url(url).is_ok(), *ok, "{url}");
        }
    }

    #[test]
    fn endpoints_with_secrets_are_refused() {
        for ok in [
            "https://api-us.restb.ai",
            "http://127.0.0.1:8080/",
            "http://[::1]:8080",
            "https://example.com/pacer",
        ] {
            assert_eq!(check_endpoint(ok), Ok(()), "{ok}");
        }
        for (bad, says) in [
            ("http://u:p@127.0.0.1:8080", "user name or password"),
            ("https://user@api.example", "user name or password"),
            ("https://api.example/vision?client_key=K", "client key"),
            ("https://api.example/?x=1", "?query"),
            ("https://api.example/#top", "#fragment"),
            ("https://api.example/CLIENT_KEY/x", "client key"),
            ("ftp://x", "http:// or https://"),
            ("", "http:// or https://"),
        ] {
            let err = check_endpoint(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn budget_scopes_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("https://api.example/v2", Some("https://api.example/v2")),
            (
                "HTTPS://API.example:443/v2/",
                Some("https://api.example/v2"),
            ),
            ("https://api.example", Some("https://api.example")),
            ("https://api.example/", Some("https://api.example")),
            ("http://127.0.0.1:8080/V2", Some("http://127.0.0.1:8080/V2")),
            ("http://127.0.0.1:80//", Some("http://127.0.0.1")),
            ("ftp://x", None),
        ];
        for (endpoint, want) in cases {
            assert_eq!(budget_scope(endpoint).as_deref(), *want, "{endpoint}");
        }
        assert_ne!(
            budget_scope("https://api.example/v2"),
            budget_scope("https://api.example:8443/v2")
        );
    }

    #[test]
    fn origins_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("https://api-us.restb.ai", Some("https://api-us.restb.ai")),
            (
                "HTTPS://API-US.restb.ai:443/x/",
                Some("https://api-us.restb.ai"),
            ),
            ("http://127.0.0.1:8080/", Some("http://127.0.0.1:8080")),
            ("http://127.0.0.1:80", Some("http://127.0.0.1")),
            ("http://127.0.0.1:08080", Some("http://127.0.0.1:8080")),
            ("https://evil.test:8443", Some("https://evil.test:8443")),
            ("http://[::1]:9302", Some("http://[::1]:9302")),
            ("http://u:p@host:1/", Some("http://host:1")),
            ("javascript:alert(1)", None),
            ("", None),
        ];
        for (endpoint, want) in cases {
            assert_eq!(endpoint_origin(endpoint).as_deref(), *want, "{endpoint}");
        }
        assert_ne!(
            endpoint_origin("http://127.0.0.1:8080"),
            endpoint_origin("http://127.0.0.1:9302")
        );
    }

    #[test]
    fn splits_lines_commas_tabs_and_skips_blanks() {
        let text = "http://a/1\n\n  \nhttp://a/2,http://a/3\thttp://a/4 , ,\r\nhttp://a/5\r\n";
        let parsed = parse_sources(text);
        assert_eq!(
            parsed.valid,
            [
                "http://a/1",
                "http://a/2",
                "http://a/3",
                "http://a/4",
                "http://a/5"
            ]
        );
        assert!(parsed.invalid.is_empty());
        assert_eq!(parsed.duplicates, 0);
    }

    #[test]
    fn empty_input_is_empty() {
        assert_eq!(parse_sources(""), ParsedSources::default());
        assert_eq!(parse_sources("\n\n , \t\n"), ParsedSources::default());
    }

    #[test]
    fn invalid_entries_keep_their_line() {
        let text = "http://a/1\nftp://x\n\njavascript:alert(1) http://\nhttp://a/2";
        assert_eq!(
            invalid(text),
            [
                (2, "ftp://x".into(), "not an http:// or https:// URL"),
                (
                    4,
                    "javascript:alert(1)".into(),
                    "not an http:// or https:// URL"
                ),
                (4, "http://".into(), "no host"),
            ]
        );
        assert_eq!(parse_sources(text).valid, ["http://a/1", "http://a/2"]);
    }

    #[test]
    fn duplicates_can_be_kept() {
        let parsed =
            parse_sources_keeping_duplicates("http://a/1\nhttp://a/1 http://a/2\nhttp://a/1");
        assert_eq!(
            parsed.valid,
            ["http://a/1", "http://a/1", "http://a/2", "http://a/1"]
        );
        assert_eq!(parsed.duplicates, 2);
    }

    #[test]
    fn duplicates_are_counted_and_first_kept() {
        let parsed = parse_sources("http://a/1\nhttp://a/2\nhttp://a/1,http://a/1\nbad\nbad");
        assert_eq!(parsed.valid, ["http://a/1", "http://a/2"]);
        assert_eq!(parsed.duplicates, 2);
        assert_eq!(parsed.invalid.len(), 2, "invalid entries are all listed");
    }

    #[test]
    fn unicode_entries() {
        let parsed =
            parse_sources("https://bücher.example/ä.jpg\n\u{00a0}ünïcödé\u{3000}http://x.y/z");
        assert_eq!(
            parsed.valid,
            ["https://bücher.example/ä.jpg", "http://x.y/z"]
        );
        assert_eq!(
            invalid("ünïcödé"),
            [(1, "ünïcödé".into(), "not an http:// or https:// URL")]
        );
    }

    #[test]
    fn hundred_thousand_lines() {
        let mut text = String::new();
        for i in 0..100_000 {
            if i % 1000 == 7 {
                text.push_str("not-a-url\n");
            } else {
                text.push_str(&format!(
                    "http://127.0.0.1:8080/samples/img-{:05}.jpg\n",
                    i % 90_000
                ));
            }
        }
        let parsed = parse_sources(&text);
        assert_eq!(parsed.invalid.len(), 100);
        assert_eq!(parsed.invalid[0].line, 8);
        assert_eq!(parsed.valid.len() + parsed.duplicates, 99_900);
        assert_eq!(parsed.valid.len(), 90_000 - 90);
    }

    #[test]
    fn models_table() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            (" , ,\n", &[]),
            (
                "re_roomtype_global_v2,re_features_v4",
                &["re_roomtype_global_v2", "re_features_v4"],
            ),
            (" a , b\tc\nd ", &["a", "b", "c", "d"]),
            ("a,a, b ,a", &["a", "b"]),
            (",,a,,", &["a"]),
        ];
        for (text, want) in cases {
            assert_eq!(parse_models(text), *want, "{text:?}");
        }
    }
}
