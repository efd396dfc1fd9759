//! Building multipredict requests: the GET URL for an image on the web and
//! the form body for an uploaded image. Percent-encoding is done by
//! `form_urlencoded`, never by hand. Sends nothing itself.

use form_urlencoded::Serializer;

/// The multipredict path, appended to the API base.
pub const MULTIPREDICT_PATH: &str = "/vision/v2/multipredict";

/// The GET URL for one image on the web:
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
