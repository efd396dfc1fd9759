//! Building multipredict requests. Every request is a form `POST` (the key
//! in the body, never in a URL, where consoles, logs and error texts would
//! show it); a `GET` with the key in its query is only the fallback for an
//! endpoint that refuses POST ([`post_refused`]). Percent-encoding is done
//! by `form_urlencoded`, never by hand. Sends nothing itself.

use form_urlencoded::Serializer;

/// The multipredict path, appended to the API base.
pub const MULTIPREDICT_PATH: &str = "/vision/v2/multipredict";

/// How requests go to an endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Method {
    /// A form `POST`: the key in the body (a CORS simple request).
    #[default]
    Post,
    /// A `GET` with every field in the query: only for endpoints that
    /// refuse POST, since the key then travels in the URL.
    Get,
}

/// The image of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Image<'a> {
    /// An image on the web, sent as `image_url`.
    Url(&'a str),
    /// A local image, sent as `image_base64`.
    Base64(&'a str),
}

/// The URL to `POST` a multipredict form to: `{base}/vision/v2/multipredict`
/// (trailing slashes of `base` dropped). Carries nothing secret.
pub fn multipredict_post_url(base: &str) -> String {
    format!("{}{MULTIPREDICT_PATH}", base.trim_end_matches('/'))
}

/// The `application/x-www-form-urlencoded` body of a multipredict `POST`:
/// `client_key`, `model_id` (comma-separated) and `image_url` or
/// `image_base64`.
pub fn multipredict_body(client_key: &str, models: &[String], image: Image<'_>) -> String {
    let (field, value) = match image {
        Image::Url(url) => ("image_url", url),
        Image::Base64(data) => ("image_base64", data),
    };
    Serializer::new(String::new())
        .append_pair("client_key", client_key)
        .append_pair("model_id", &models.join(","))
        .append_pair(field, value)
        .finish()
}

/// Whether an answer to a multipredict `POST` says the endpoint does not
/// take POST: `405 Method Not Allowed`, or a 400/422 whose text says a
/// parameter (the key, the models, the image) is missing, as an API that
/// reads only the query string answers a form.
pub fn post_refused(status: u16, body: &str) -> bool {
    if status == 405 {
        return true;
    }
    if !matches!(status, 400 | 422) {
        return false;
    }
    let text = body.to_ascii_lowercase();
    let missing = ["missing", "required", "not provided", "no "]
        .iter()
        .any(|w| text.contains(w));
    let names = ["client_key", "model_id", "image_url", "parameter", "param"]
        .iter()
        .any(|w| text.contains(w));
    missing && names
}

/// The GET URL for one image on the web (the fallback, [`Method::Get`]):
/// `{base}/vision/v2/multipredict?client_key=K&model_id=m1,m2&image_url=U`.
///
/// Trailing slashes of `base` are dropped; every query value is
/// percent-encoded as `application/x-www-form-urlencoded` (so the comma
/// between models travels as `%2C`, which servers decode back to `,`).
pub fn multipredict_url(
    base: &str,
    client_key: &str,
    models: &[String],
    image_url: &str,
) -> String {
    let query = Serializer::new(String::new())
        .append_pair("client_key", client_key)
        .append_pair("model_id", &models.join(","))
        .append_pair("image_url", image_url)
        .finish();
    format!(
        "{}{}?{}",
        base.trim_end_matches('/'),
        MULTIPREDICT_PATH,
        query
    )
}

/// The `application/x-www-form-urlencoded` POST body for an uploaded image:
/// fields `client_key`, `model_id` (comma-separated) and `image_base64`.
///
/// POST it to `{base}/vision/v2/multipredict` (see [`MULTIPREDICT_PATH`]).
pub fn multipredict_form(client_key: &str, models: &[String], image_base64: &str) -> String {
    Serializer::new(String::new())
        .append_pair("client_key", client_key)
        .append_pair("model_id", &models.join(","))
        .append_pair("image_base64", image_base64)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(list: &[&str]) -> Vec<String> {
        list.iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn url_table() {
        let cases: &[(&str, &str, &[&str], &str, &str)] = &[
            (
                "https://api-us.restb.ai",
                "K",
                &["re_logo"],
                "https://x.test/a.jpg",
                "https://api-us.restb.ai/vision/v2/multipredict?client_key=K&model_id=re_logo&image_url=https%3A%2F%2Fx.test%2Fa.jpg",
            ),
            (
                "http://127.0.0.1:8080///",
                "k",
                &["m1", "m2"],
                "http://h/i.jpg",
                "http://127.0.0.1:8080/vision/v2/multipredict?client_key=k&model_id=m1%2Cm2&image_url=http%3A%2F%2Fh%2Fi.jpg",
            ),
            (
                "http://e",
                "a b&c=d",
                &[],
                "http://h/x y.jpg?q=1&r=é",
                "http://e/vision/v2/multipredict?client_key=a+b%26c%3Dd&model_id=&image_url=http%3A%2F%2Fh%2Fx+y.jpg%3Fq%3D1%26r%3D%C3%A9",
            ),
        ];
        for (base, key, ms, img, want) in cases {
            assert_eq!(
                multipredict_url(base, key, &models(ms), img),
                *want,
                "base {base}"
            );
        }
    }

    #[test]
    fn post_carries_the_key_in_the_body_only() {
        let url = multipredict_post_url("http://127.0.0.1:8080/");
        assert_eq!(url, "http://127.0.0.1:8080/vision/v2/multipredict");
        let body = multipredict_body(
            "K&1",
            &models(&["a", "b"]),
            Image::Url("https://x/1.jpg?q=1"),
        );
        assert_eq!(
            body,
            "client_key=K%261&model_id=a%2Cb&image_url=https%3A%2F%2Fx%2F1.jpg%3Fq%3D1"
        );
        assert_eq!(
            multipredict_body("k", &models(&["m"]), Image::Base64("/9j=")),
            multipredict_form("k", &models(&["m"]), "/9j=")
        );
    }

    #[test]
    fn post_refusals_table() {
        let cases: &[(u16, &str, bool)] = &[
            (405, "", true),
            (405, "Method Not Allowed", true),
            (
                400,
                r#"{"error":"true","message":"Invalid or missing client_key"}"#,
                true,
            ),
            (400, "Missing required parameter: image_url", true),
            (422, "model_id is required", true),
            (400, "bad image", false),
            (401, "missing client_key", false),
            (429, "missing client_key", false),
            (200, "", false),
            (500, "missing parameter", false),
        ];
        for (status, body, want) in cases {
            assert_eq!(post_refused(*status, body), *want, "{status} {body}");
        }
    }

    #[test]
    fn form_round_trips() {
        let body = multipredict_form("k+1", &models(&["a", "b"]), "/9j/4AA+Q==");
        assert_eq!(
            body,
            "client_key=k%2B1&model_id=a%2Cb&image_base64=%2F9j%2F4AA%2BQ%3D%3D"
        );
        let back: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(
            back,
            vec![
                ("client_key".into(), "k+1".into()),
                ("model_id".into(), "a,b".into()),
                ("image_base64".into(), "/9j/4AA+Q==".into()),
            ]
        );
    }
}
