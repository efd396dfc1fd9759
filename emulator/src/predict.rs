//! Deterministic fake predictions: the same (image, model) always gets the
//! same plausible answer, in the shape the real model gives. Uses its own
//! stable hash (FNV-1a + SplitMix64), never std's randomised one.

use serde_json::{json, Value};

/// FNV-1a, 64 bits: stable across runs, platforms and releases.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// How an uploaded image appears in the access log: `base64:` and 16 hex digits.
pub fn base64_tag(image_base64: &str) -> String {
    format!("base64:{:016x}", stable_hash(image_base64.as_bytes()))
}

/// A tiny deterministic generator (SplitMix64) seeded from a hash (or, for
/// the fault sequence, from a seed): stable across runs, platforms and
/// dependency upgrades.
pub(crate) struct Draws(u64);

impl Draws {
    /// The generator of `seed`.
    pub(crate) fn from_seed(seed: u64) -> Draws {
        Draws(seed)
    }

    fn new(image: &str, model: &str) -> Draws {
        let mut key = Vec::with_capacity(image.len() + model.len() + 1);
        key.extend_from_slice(model.as_bytes());
        key.push(0);
        key.extend_from_slice(image.as_bytes());
        Draws(stable_hash(&key))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `k` distinct items of `from`, in drawn order.
    fn pick<'a>(&mut self, from: &[&'a str], k: usize) -> Vec<&'a str> {
        let mut pool = from.to_vec();
        (0..k.min(pool.len()))
            .map(|_| pool.swap_remove(self.below(pool.len())))
            .collect()
    }
}

const ROOM_TYPES: &[&str] = &[
    "kitchen",
    "bathroom",
    "bedroom",
    "living_room",
    "dining_room",
    "exterior",
    "laundry_room",
    "office",
    "hallway",
    "garage",
    "pool",
    "backyard",
];
const EXTERIOR_STYLES: &[&str] = &[
    "colonial",
    "craftsman",
    "contemporary",
    "mediterranean",
    "ranch",
    "victorian",
    "tudor",
    "cape_cod",
    "farmhouse",
];
const FEATURES: &[(&str, &[&str])] = &[
    ("kitchen_island", &["breakfast_bar", "granite_countertops"]),
    ("hardwood_floor", &["light_wood", "dark_wood"]),
    ("fireplace", &["stone_fireplace", "brick_fireplace"]),
    ("stainless_steel_appliances", &[]),
    ("ceiling_fan", &[]),
    ("vaulted_ceiling", &["exposed_beams"]),
    ("walk_in_closet", &[]),
    ("double_vanity", &["marble_countertops"]),
    ("swimming_pool", &["in_ground_pool"]),
];
const LOGOS: &[&str] = &[
    "remax",
    "coldwell_banker",
    "century_21",
    "keller_williams",
    "sothebys",
    "compass",
];
const COMPLIANCE: &[&str] = &[
    "compliant",
    "watermark",
    "text_overlay",
    "contact_info",
    "person",
];

/// The solution of `model` for `image` (a URL or the base64 body), or
/// `None` for a model the emulator does not know.
pub fn solution(model: &str, image: &str) -> Option<Value> {
    let mut d = Draws::new(image, model);
    Some(match model {
        "re_roomtype_global_v2" => classification(&mut d, ROOM_TYPES),
        "re_exterior_styles" => classification(&mut d, EXTERIOR_STYLES),
        "re_compliance_v2" => classification(&mut d, COMPLIANCE),
        "re_features_v4" => features(&mut d),
        "re_logo" => logos(&mut d),
        "re_condition_r1r6_global" => condition(&mut d),
        _ => return None,
    })
}

/// `{"top_prediction":{..},"predictions":[..]}` with 3 labels, confidences
/// descending and summing to at most 1.
fn classification(d: &mut Draws, labels: &[&str]) -> Value {
    let top = 0.55 + 0.4 * d.unit();
    let second = (1.0 - top) * (0.4 + 0.5 * d.unit());
    let third = (1.0 - top - second) * d.unit();
    let predictions: Vec<Value> = d
        .pick(labels, 3)
        .into_iter()
        .zip([top, second, third])
        .map(|(label, c)| json!({"label": label, "confidence": round4(c)}))
        .collect();
    json!({"top_prediction": predictions[0].clone(), "predictions": predictions})
}

fn features(d: &mut Draws) -> Value {
    let count = 1 + d.below(4);
    let names: Vec<&str> = FEATURES.iter().map(|(n, _)| *n).collect();
    let detections: Vec<Value> = d
        .pick(&names, count)
        .into_iter()
        .map(|label| {
            let options = FEATURES
                .iter()
                .find(|(n, _)| *n == label)
                .map_or(&[][..], |(_, o)| *o);
            let k = d.below(options.len() + 1);
            let details: Vec<Value> = d
                .pick(options, k)
                .into_iter()
                .map(|l| json!({"label": l}))
                .collect();
            json!({"label": label, "details": details})
        })
        .collect();
    json!({"detections": detections})
}

fn logos(d: &mut Draws) -> Value {
    let count = d.below(3);
    let detections: Vec<Value> = d
        .pick(LOGOS, count)
        .into_iter()
        .map(|label| {
            let (x, y) = (0.8 * d.unit(), 0.8 * d.unit());
            let (w, h) = (0.05 + 0.15 * d.unit(), 0.03 + 0.1 * d.unit());
            json!({
                "label": label,
                "confidence": round4(0.6 + 0.4 * d.unit()),
                "bounding_box": {
                    "top_left_x": round4(x), "top_left_y": round4(y),
                    "bottom_right_x": round4(x + w), "bottom_right_y": round4(y + h),
                }
            })
        })
        .collect();
    json!({"detections": detections})
}

fn condition(d: &mut Draws) -> Value {
    let score = 1.0 + 5.0 * d.unit();
    json!({
        "score": round4(score),
        "top_prediction": {"label": format!("r{}", score.round() as u32), "confidence": round4(0.5 + 0.5 * d.unit())}
    })
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacer_core::api::{parse_solution, KNOWN_MODELS};

    #[test]
    fn hash_is_stable() {
        assert_eq!(stable_hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(base64_tag("abc").len(), "base64:".len() + 16);
    }

    #[test]
    fn every_known_model_answers_deterministically_in_its_shape() {
        for model in KNOWN_MODELS {
            for image in [
                "http://127.0.0.1/samples/img-0001.jpg",
                "http://x/2.jpg",
                "AAAA",
            ] {
                let a = solution(model, image).expect(model);
                assert_eq!(
                    Some(&a),
                    solution(model, image).as_ref(),
                    "{model} is deterministic"
                );
                let s = parse_solution(model, &a);
                match *model {
                    "re_features_v4" => assert!(!s.detections.is_empty()),
                    "re_logo" => assert!(s.detections.iter().all(|d| d.bounding_box.is_some())),
                    "re_condition_r1r6_global" => {
                        assert!(s.score.is_some_and(|v| (1.0..=6.0).contains(&v)))
                    }
                    _ => assert!(s
                        .top
                        .is_some_and(|t| t.confidence.is_some_and(|c| c > 0.5 && c < 1.0))),
                }
            }
        }
        assert_eq!(solution("nope", "x"), None);
    }
}
