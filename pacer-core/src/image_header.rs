//! An image's width and height read from the first bytes of its file,
//! before anything decodes it: a small PNG can declare 30 000 × 30 000
//! pixels and decode to gigabytes (a decompression bomb). PNG, JPEG, GIF,
//! WebP and BMP headers are read; other formats give `None`.
//!
//! Pure: bytes in, numbers out; never panics on any input.

/// The most pixels Pacer decodes in one image (64 megapixels, 256 MB
/// decoded; a phone's largest photos are about 50).
pub const MAX_PIXELS: u64 = 64_000_000;

/// How many bytes of the file's start to read for its header (a JPEG's
/// size comes after its metadata, which may take 64 KB or more).
pub const HEADER_BYTES: usize = 256 * 1024;

/// Width and height declared by the header in `head` (the file's first
/// bytes), if it is a format read here and the header is complete.
pub fn image_dimensions(head: &[u8]) -> Option<(u32, u32)> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        // The IHDR chunk comes first: width and height, big-endian.
        return Some((be32(head, 16)?, be32(head, 20)?));
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Some((u32::from(le16(head, 6)?), u32::from(le16(head, 8)?)));
    }
    if head.starts_with(b"BM") {
        let w = i32::from_le_bytes(head.get(18..22)?.try_into().ok()?);
        let h = i32::from_le_bytes(head.get(22..26)?.try_into().ok()?);
        return Some((w.unsigned_abs(), h.unsigned_abs()));
    }
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        return webp(head);
    }
    if head.starts_with(&[0xFF, 0xD8]) {
        return jpeg(head);
    }
    None
}

/// Why an image of `dims` is not decoded, in words, or `None` if it may be.
pub fn too_many_pixels(dims: (u32, u32)) -> Option<String> {
    let (w, h) = dims;
    let pixels = u64::from(w) * u64::from(h);
    (pixels > MAX_PIXELS).then(|| {
        format!(
            "it declares {w}×{h} pixels ({} megapixels); Pacer decodes images up to {} \
             megapixels",
            pixels / 1_000_000,
            MAX_PIXELS / 1_000_000
        )
    })
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

fn webp(b: &[u8]) -> Option<(u32, u32)> {
    match b.get(12..16)? {
        b"VP8 " => Some((
            u32::from(le16(b, 26)? & 0x3FFF),
            u32::from(le16(b, 28)? & 0x3FFF),
        )),
        b"VP8L" => {
            let bits = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => Some((le24(b, 24)? + 1, le24(b, 27)? + 1)),
        _ => None,
    }
}

/// Walks a JPEG's segments to its frame header (SOFn).
fn jpeg(b: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    loop {
        // Markers may be padded with extra 0xFF bytes.
        while *b.get(at)? == 0xFF && *b.get(at + 1)? == 0xFF {
            at += 1;
        }
        if *b.get(at)? != 0xFF {
            return None;
        }
        let marker = *b.get(at + 1)?;
        at += 2;
        match marker {
            // Markers without a length.
            0xD0..=0xD9 | 0x01 => continue,
            // Start of frame (not DHT, JPG, DAC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let h = be16(b, at + 3)?;
                let w = be16(b, at + 5)?;
                return Some((u32::from(w), u32::from(h)));
            }
            _ => {
                let len = usize::from(be16(b, at)?);
                if len < 2 {
                    return None;
                }
                at += len;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend(w.to_be_bytes());
        b.extend(h.to_be_bytes());
        b.extend([8, 6, 0, 0, 0]);
        b
    }

    #[test]
    fn reads_each_format() {
        assert_eq!(
            image_dimensions(&png(30_000, 30_000)),
            Some((30_000, 30_000))
        );
        let mut gif = b"GIF89a".to_vec();
        gif.extend([0x40, 0x01, 0xF0, 0x00]);
        assert_eq!(image_dimensions(&gif), Some((320, 240)));
        // A JPEG with an APP0 segment, then SOF0 of 640×480.
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01,
            0xE0, 0x02, 0x80, 0x03,
        ];
        assert_eq!(image_dimensions(&jpeg), Some((640, 480)));
        let mut bmp = b"BM".to_vec();
        bmp.resize(18, 0);
        bmp.extend(100_i32.to_le_bytes());
        bmp.extend((-50_i32).to_le_bytes());
        assert_eq!(image_dimensions(&bmp), Some((100, 50)));
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X".to_vec();
        webp.resize(24, 0);
        webp.extend([0x0F, 0x27, 0x00, 0x0F, 0x27, 0x00]); // 9999+1 each
        assert_eq!(image_dimensions(&webp), Some((10_000, 10_000)));
        assert_eq!(image_dimensions(b"not an image"), None);
        assert_eq!(image_dimensions(&png(1, 1)[..20]), None, "cut short");
    }

    #[test]
    fn a_bomb_is_refused_and_a_photo_is_not() {
        let why = too_many_pixels((30_000, 30_000)).unwrap();
        assert!(why.contains("900 megapixels"), "{why}");
        assert_eq!(too_many_pixels((8_000, 6_000)), None);
        assert!(too_many_pixels((u32::MAX, u32::MAX)).is_some());
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic(mut head in proptest::collection::vec(any::<u8>(), 0..64), kind in 0..6_u8) {
            let magic: &[u8] = match kind {
                0 => b"\x89PNG\r\n\x1a\n",
                1 => b"GIF89a",
                2 => b"BM",
                3 => b"RIFF\0\0\0\0WEBPVP8L",
                4 => &[0xFF, 0xD8],
                _ => b"",
            };
            head.splice(0..0, magic.iter().copied());
            if let Some(dims) = image_dimensions(&head) {
                let _ = too_many_pixels(dims);
            }
        }
    }
}
