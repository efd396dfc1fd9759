//! The browser's own URL parser (WHATWG `URL`) and the page's origin: the
//! endpoint check in `pacer_core::input` is hand-written, and a host that
//! the browser refuses (`https://256.0.0.1`) would only fail at the first
//! fetch, whose error text quotes the URL.

/// What the browser's parser makes of a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedUrl {
    /// `scheme://host[:port]`, as the browser serialises it.
    pub origin: String,
    /// A user name or password before the host.
    pub credentials: bool,
    /// A `?query`.
    pub query: bool,
    /// A `#fragment`.
    pub fragment: bool,
}

/// Parses `text` as the browser would for a fetch, or says that it cannot
/// (the browser's message, which may quote the URL, is not kept).
pub fn parse_url(text: &str) -> Result<ParsedUrl, &'static str> {
    let url = web_sys::Url::new(text).map_err(|_| "the browser cannot parse it as a URL")?;
    Ok(ParsedUrl {
        origin: url.origin(),
        credentials: !url.username().is_empty() || !url.password().is_empty(),
        query: !url.search().is_empty(),
        fragment: !url.hash().is_empty(),
    })
}

/// The page's own origin (`http://127.0.0.1:8080`), empty where there is
/// no window.
pub fn page_origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// The page's query string parameter `name`, decoded (its first value),
/// if there is one.
pub fn page_query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
}

/// `pairs` as a query string, encoded as the browser's `URLSearchParams`
/// writes it (empty for none).
pub fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> String {
    let Ok(params) = web_sys::UrlSearchParams::new() else {
        return String::new();
    };
    for (name, value) in pairs {
        params.append(name, &value);
    }
    params.to_string().into()
}
