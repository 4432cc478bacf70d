//! Small, real media files made on the spot for tests: each decodes as what it claims to be.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgba, RgbaImage};

/// A `width`×`height` gradient with a translucent corner, encoded as `format`.
fn encoded(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let img = RgbaImage::from_fn(width, height, |x, y| {
        let alpha = if x < width / 4 && y < height / 4 {
            128
        } else {
            255
        };
        Rgba([
            (x * 255 / width.max(1)) as u8,
            (y * 255 / height.max(1)) as u8,
            160,
            alpha,
        ])
    });
    let img = match format {
        // JPEG has no alpha channel.
        ImageFormat::Jpeg => DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(img).to_rgb8()),
        _ => DynamicImage::ImageRgba8(img),
    };
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format)
        .unwrap_or_else(|err| panic!("encoding a {format:?}: {err}"));
    out
}

/// A PNG.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    encoded(width, height, ImageFormat::Png)
}

/// A JPEG.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encoded(width, height, ImageFormat::Jpeg)
}

/// A GIF.
pub fn gif(width: u32, height: u32) -> Vec<u8> {
    encoded(width, height, ImageFormat::Gif)
}

/// A (lossless) WebP.
pub fn webp(width: u32, height: u32) -> Vec<u8> {
    encoded(width, height, ImageFormat::WebP)
}

fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(payload.len() + 8)
        .unwrap_or(u32::MAX)
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

/// The skeleton of an MP4 (ISO/IEC 14496-12): `ftyp`, then `moov` with a version-0 `mvhd`
/// (timescale 1000) and one `trak` whose `tkhd` gives the picture size. Enough for anything
/// that reads headers; there are no frames.
pub fn mp4(duration_ms: u32, width: u32, height: u32) -> Vec<u8> {
    let mut mvhd = vec![0u8; 4 + 4 + 4];
    mvhd.extend_from_slice(&1000u32.to_be_bytes());
    mvhd.extend_from_slice(&duration_ms.to_be_bytes());
    mvhd.extend_from_slice(&[0u8; 80]);
    let mut tkhd = vec![0u8; 4 + 4 + 4 + 4 + 4 + 4 + 8 + 2 + 2 + 2 + 2 + 36];
    tkhd.extend_from_slice(&(width << 16).to_be_bytes());
    tkhd.extend_from_slice(&(height << 16).to_be_bytes());
    let trak = boxed(b"trak", &boxed(b"tkhd", &tkhd));
    let mut moov = boxed(b"mvhd", &mvhd);
    moov.extend_from_slice(&trak);
    let mut out = boxed(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41");
    out.extend_from_slice(&boxed(b"moov", &moov));
    out.extend_from_slice(&boxed(b"mdat", &[0u8; 64]));
    out
}

/// The start of a Linux executable: what a renamed program looks like.
pub fn executable() -> Vec<u8> {
    let mut out = b"\x7fELF\x02\x01\x01\0".to_vec();
    out.resize(4096, 0);
    out
}
