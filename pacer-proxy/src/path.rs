//! Which request paths may be forwarded: only those that stay under
//! `/vision/` once a URL parser has had its way with them. A page never
//! sends `..`, but anyone who reaches the proxy can (`curl --path-as-is`),
//! and the HTTP client normalises `/vision/../admin` (and `%2e%2e`, which
//! the URL standard takes for `..`) into a path outside the API.

/// Why a path is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not under `/vision/` at all.
    OutsideVision,
    /// A `.` or `..` segment, plain or percent-encoded.
    DotSegment,
    /// An encoded `/` or `\`, or a raw `\` (some servers take it for `/`).
    HiddenSeparator,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::OutsideVision => "only paths under /vision/ are forwarded",
            Refused::DotSegment => "paths with . or .. segments are not forwarded",
            Refused::HiddenSeparator => "paths with an encoded / or a \\ are not forwarded",
        })
    }
}

/// Checks the path of a request (without its query).
pub fn check(path: &str) -> Result<(), Refused> {
    let Some(rest) = path.strip_prefix("/vision/") else {
        return Err(Refused::OutsideVision);
    };
    if path.contains('\\') {
        return Err(Refused::HiddenSeparator);
    }
    for segment in rest.split('/') {
        let lower = segment.to_ascii_lowercase();
        if lower.contains("%2f") || lower.contains("%5c") {
            return Err(Refused::HiddenSeparator);
        }
        // The URL standard's single- and double-dot segments, any case of %2e.
        let dots = lower.replace("%2e", ".");
        if dots == "." || dots == ".." {
            return Err(Refused::DotSegment);
        }
    }
    Ok(())
}

/// Checks the URL the HTTP client will really request: its path must
/// still start with the upstream's own path plus `/vision/`.
pub fn check_resolved(url: &reqwest::Url, base_path: &str) -> Result<(), Refused> {
    let prefix = format!("{}/vision/", base_path.trim_end_matches('/'));
    if url.path().starts_with(&prefix) {
        Ok(())
    } else {
        Err(Refused::OutsideVision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_vision_pass() {
        for ok in [
            "/vision/v2/multipredict",
            "/vision/",
            "/vision/v2/..x/a",
            "/vision/v2/a.b",
            "/vision/v2/%41",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn paths_that_leave_vision_are_refused() {
        let cases = [
            ("/vision/../x", Refused::DotSegment),
            ("/vision/v2/../../admin", Refused::DotSegment),
            ("/vision/%2e%2e/x", Refused::DotSegment),
            ("/vision/%2E%2e/x", Refused::DotSegment),
            ("/vision/.%2e/x", Refused::DotSegment),
            ("/vision/./x", Refused::DotSegment),
            ("/vision/%2e/x", Refused::DotSegment),
            ("/vision/v2/..", Refused::DotSegment),
            ("/vision/..%2fadmin", Refused::HiddenSeparator),
            ("/vision/..%2Fadmin", Refused::HiddenSeparator),
            ("/vision/..%5cadmin", Refused::HiddenSeparator),
            ("/vision/..\\admin", Refused::HiddenSeparator),
            ("/admin", Refused::OutsideVision),
            ("/vision", Refused::OutsideVision),
            ("/visionary/x", Refused::OutsideVision),
            ("", Refused::OutsideVision),
        ];
        for (path, why) in cases {
            assert_eq!(check(path), Err(why), "{path}");
        }
    }

    #[test]
    fn the_resolved_url_must_stay_under_the_base_and_vision() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        assert!(check_resolved(&url("https://api.example/vision/v2/multipredict"), "").is_ok());
        assert!(check_resolved(&url("https://api.example/p/vision/v2/x"), "/p").is_ok());
        // What the client makes of dot segments a check let through.
        let normalised = url("https://api.example/vision/%2e%2e/admin");
        assert_eq!(normalised.path(), "/admin");
        assert!(check_resolved(&normalised, "").is_err());
        assert!(check_resolved(&url("https://api.example/vision/x"), "/p").is_err());
    }
}
