//! Screenshots compared by their pixels: a new screenshot that differs from the one already
//! in `docs/screenshots/` only by anti-aliasing noise leaves that file as it is.
//!
//! Headless Chromium does not always rasterise an anti-aliased edge to the same values: a
//! rounded corner of a button or a frame can come out one level lighter in a few pixels from
//! one run to the next, with nothing on the page changed. The pictures are reviewed through
//! `git status` (a changed file is a changed page), so such noise would show as a change.
//! Noise here is at most [`NOISE_PIXELS`] pixels, each differing by at most [`NOISE_LEVELS`]
//! in every channel; anything more — a moved element, a changed text or colour, another
//! size — is a change, and the new picture is written.

use flate2::read::ZlibDecoder;
use std::io::Read;

/// Most pixels that may differ for two pictures to be the same.
pub(crate) const NOISE_PIXELS: usize = 64;
/// Most a channel of such a pixel may differ by (of 255).
pub(crate) const NOISE_LEVELS: u8 = 2;

/// A decoded picture: 8-bit channels, row by row.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Picture {
    pub(crate) width: usize,
    pub(crate) height: usize,
    /// 3 (RGB) or 4 (RGBA).
    pub(crate) channels: usize,
    pub(crate) data: Vec<u8>,
}

/// Decodes a non-interlaced 8-bit RGB or RGBA PNG (what Chromium writes); `None` for anything
/// else or a damaged file.
pub(crate) fn decode(png: &[u8]) -> Option<Picture> {
    let mut rest = png.strip_prefix(b"\x89PNG\r\n\x1a\n".as_slice())?;
    let (mut width, mut height, mut channels) = (0usize, 0usize, 0usize);
    let mut compressed = Vec::new();
    while rest.len() >= 12 {
        let len = u32::from_be_bytes(rest[..4].try_into().ok()?) as usize;
        let kind = &rest[4..8];
        let body = rest.get(8..8 + len)?;
        match kind {
            b"IHDR" => {
                let [depth, colour, _, _, interlace] = body.get(8..13)?.try_into().ok()?;
                width = u32::from_be_bytes(body[..4].try_into().ok()?) as usize;
                height = u32::from_be_bytes(body[4..8].try_into().ok()?) as usize;
                channels = match (depth, colour, interlace) {
                    (8, 2, 0) => 3,
                    (8, 6, 0) => 4,
                    _ => return None,
                };
            }
            b"IDAT" => compressed.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        rest = rest.get(12 + len..)?;
    }
    if channels == 0 {
        return None;
    }
    let stride = width.checked_mul(channels)?;
    let mut raw = Vec::new();
    ZlibDecoder::new(compressed.as_slice())
        .take(((stride + 1) * height) as u64 + 1)
        .read_to_end(&mut raw)
        .ok()?;
    if raw.len() != (stride + 1) * height {
        return None;
    }
    let mut data = vec![0u8; stride * height];
    for y in 0..height {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        let (done, current) = data.split_at_mut(y * stride);
        let above = done.get(done.len().wrapping_sub(stride)..);
        let current = &mut current[..stride];
        for x in 0..stride {
            let a = if x >= channels {
                current[x - channels]
            } else {
                0
            };
            let b = above.map_or(0, |r| r[x]);
            let c = match above {
                Some(r) if x >= channels => r[x - channels],
                _ => 0,
            };
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => paeth(a, b, c),
                _ => return None,
            };
            current[x] = line[x].wrapping_add(predicted);
        }
    }
    Some(Picture {
        width,
        height,
        channels,
        data,
    })
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Whether two PNG files show the same picture up to anti-aliasing noise (see the module
/// docs); files that cannot be decoded are the same only if their bytes are.
pub(crate) fn same_picture(old: &[u8], new: &[u8]) -> bool {
    noise(old, new).is_some()
}

/// How many pixels differ by noise alone when two PNG files show the same picture up to
/// anti-aliasing noise; `None` when they differ by more.
pub(crate) fn noise(old: &[u8], new: &[u8]) -> Option<usize> {
    if old == new {
        return Some(0);
    }
    let (old, new) = (decode(old)?, decode(new)?);
    if (old.width, old.height, old.channels) != (new.width, new.height, new.channels) {
        return None;
    }
    let mut differing = 0;
    for (a, b) in old
        .data
        .chunks_exact(old.channels)
        .zip(new.data.chunks_exact(new.channels))
    {
        if a == b {
            continue;
        }
        differing += 1;
        let small = a.iter().zip(b).all(|(x, y)| x.abs_diff(*y) <= NOISE_LEVELS);
        if !small || differing > NOISE_PIXELS {
            return None;
        }
    }
    Some(differing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::ZlibEncoder;
    use std::io::Write;

    /// An RGB PNG of `pixels` (no filter; chunk checksums left zero, which `decode` does not
    /// read).
    fn png(width: u32, height: u32, pixels: &[[u8; 3]]) -> Vec<u8> {
        let mut raw = Vec::new();
        for row in pixels.chunks(width as usize) {
            raw.push(0);
            raw.extend(row.iter().flatten());
        }
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&raw).expect("compress");
        let idat = encoder.finish().expect("compress");
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8], body: &[u8]| {
            out.extend((body.len() as u32).to_be_bytes());
            out.extend(kind);
            out.extend(body);
            out.extend([0; 4]);
        };
        let mut header = Vec::new();
        header.extend(width.to_be_bytes());
        header.extend(height.to_be_bytes());
        header.extend([8, 2, 0, 0, 0]);
        chunk(b"IHDR", &header);
        chunk(b"IDAT", &idat);
        chunk(b"IEND", &[]);
        out
    }

    fn grey(width: u32, height: u32) -> Vec<[u8; 3]> {
        (0..width * height).map(|i| [(i % 251) as u8; 3]).collect()
    }

    #[test]
    fn pixels_are_decoded_as_written() {
        let pixels = grey(7, 5);
        let picture = decode(&png(7, 5, &pixels)).expect("decodes");
        assert_eq!((picture.width, picture.height, picture.channels), (7, 5, 3));
        assert_eq!(picture.data, pixels.concat());
    }

    #[test]
    fn the_screenshots_in_the_repository_decode() {
        let dir = super::super::harness::screenshot_dir();
        let shot = std::fs::read(dir.join("console-author.png")).expect("a screenshot");
        let picture = decode(&shot).expect("Chromium's PNG decodes");
        assert_eq!(picture.width, super::super::harness::WINDOW.0 as usize);
        assert!(same_picture(&shot, &shot));
    }

    #[test]
    fn a_few_pixels_a_level_off_are_noise_and_anything_more_is_a_change() {
        let old = grey(40, 30);
        let with = |changes: &[(usize, [u8; 3])]| {
            let mut pixels = old.clone();
            for (at, value) in changes {
                pixels[*at] = *value;
            }
            png(40, 30, &pixels)
        };
        let old_png = png(40, 30, &old);
        let specks: Vec<(usize, [u8; 3])> = (0..8)
            .map(|i| {
                let [v, _, _] = old[i * 41];
                (i * 41, [v.saturating_add(1), v, v.saturating_sub(2)])
            })
            .collect();
        assert_eq!(
            noise(&old_png, &with(&specks)),
            Some(8),
            "8 pixels, 1-2 levels off"
        );
        let [v, _, _] = old[100];
        assert!(
            !same_picture(&old_png, &with(&[(100, [v.wrapping_add(40), v, v])])),
            "one pixel of another colour"
        );
        let many: Vec<(usize, [u8; 3])> = (0..=NOISE_PIXELS)
            .map(|i| {
                let [v, _, _] = old[i * 7];
                (i * 7, [v ^ 1, v, v])
            })
            .collect();
        assert!(!same_picture(&old_png, &with(&many)), "too many pixels");
        assert!(!same_picture(&old_png, &png(30, 40, &old)), "another size");
        assert!(!same_picture(&old_png, b"not a png"));
    }
}
