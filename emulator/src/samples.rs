//! Sample images to point the page at: `GET /samples/img-NNNN.jpg` for any
//! four-digit N answers a small deterministic JPEG (a house under a sky,
//! colours and shapes seeded by N), generated once and cached.

use crate::predict::stable_hash;
use axum::body::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;

/// Width of every sample image.
pub const WIDTH: u16 = 320;
/// Height of every sample image.
pub const HEIGHT: u16 = 240;

/// Generated sample JPEGs, by number.
#[derive(Default)]
pub struct Samples {
    cache: Mutex<HashMap<u16, Bytes>>,
}

impl Samples {
    /// The JPEG for a file name like `img-0042.jpg`, or `None` for any other name.
    pub fn get(&self, file_name: &str) -> Option<Bytes> {
        let n = parse_name(file_name)?;
        if let Some(hit) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(&n) {
            return Some(hit.clone());
        }
        let bytes = Bytes::from(render(n));
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(n, bytes.clone());
        Some(bytes)
    }
}

/// `img-NNNN.jpg` with exactly four ASCII digits → N.
pub fn parse_name(file_name: &str) -> Option<u16> {
    let digits = file_name.strip_prefix("img-")?.strip_suffix(".jpg")?;
    (digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())?
}

/// Renders sample `n` as a baseline JPEG (quality 85).
pub fn render(n: u16) -> Vec<u8> {
    let h = stable_hash(&n.to_le_bytes());
    let byte = |i: u32| ((h >> (8 * (i % 8))) & 0xff) as u8;
    let (w, ht) = (usize::from(WIDTH), usize::from(HEIGHT));
    let horizon = ht * 5 / 8;
    let wall = [byte(0) / 2 + 100, byte(1) / 2 + 60, byte(2) / 3 + 40];
    let roof = [byte(3) / 3 + 60, byte(4) / 4 + 30, byte(5) / 4 + 30];
    let house_x = 40 + usize::from(byte(6)) % 140;
    let (house_w, house_h) = (110, 70);
    let sun_x = 20 + usize::from(byte(7)) % 280;
    let mut rgb = Vec::with_capacity(w * ht * 3);
    for y in 0..ht {
        for x in 0..w {
            let in_house = (house_x..house_x + house_w).contains(&x)
                && (horizon - house_h..horizon).contains(&y);
            let roof_rise = horizon - house_h;
            let from_mid = x.abs_diff(house_x + house_w / 2);
            let in_roof = y < roof_rise
                && y + 40 >= roof_rise
                && from_mid <= (y + 40 - roof_rise) * 3 / 2 + 5;
            let in_door =
                (house_x + 45..house_x + 65).contains(&x) && (horizon - 35..horizon).contains(&y);
            let in_sun = (x.abs_diff(sun_x).pow(2) + y.abs_diff(40).pow(2)) < 18 * 18;
            let px = if in_door {
                [70, 40, 20]
            } else if in_house {
                wall
            } else if in_roof {
                roof
            } else if in_sun {
                [250, 220, 90]
            } else if y < horizon {
                let t = (y * 120 / horizon) as u8;
                [90 + t, 150 + t / 2, 235]
            } else {
                let t = ((y - horizon) * 60 / (ht - horizon)) as u8;
                [60 + t / 2, 140 - t, 50 + (x % 7) as u8]
            };
            rgb.extend_from_slice(&px);
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85)
        .encode(&rgb, WIDTH, HEIGHT, jpeg_encoder::ColorType::Rgb)
        .expect("encoding an in-memory RGB buffer cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_table() {
        let cases = [
            ("img-0000.jpg", Some(0)),
            ("img-0042.jpg", Some(42)),
            ("img-9999.jpg", Some(9999)),
            ("img-42.jpg", None),
            ("img-00042.jpg", None),
            ("img-00a2.jpg", None),
            ("img-0042.png", None),
            ("../img-0042.jpg", None),
        ];
        for (name, want) in cases {
            assert_eq!(parse_name(name), want, "{name}");
        }
    }

    #[test]
    fn renders_deterministic_distinct_jpegs() {
        let a = render(1);
        assert_eq!(&a[..2], &[0xFF, 0xD8]);
        assert_eq!(a, render(1));
        assert_ne!(a, render(2));
        let samples = Samples::default();
        assert_eq!(samples.get("img-0001.jpg").as_deref(), Some(&a[..]));
        assert!(samples.get("nope.jpg").is_none());
    }
}
