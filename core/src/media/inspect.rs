//! Recognising, measuring and thumbnailing a file by its content: images decoded (within
//! limits), videos read only for their MP4 movie header, wherever in the file it is.

use std::io::Cursor;

use omniplug_platforms::media::{MediaType, size_label};

use super::MediaError;

/// Thumbnails fit in a square of this many pixels.
pub const THUMB_SIZE: u32 = 320;
/// Images wider or taller than this are refused before decoding (a guard against files that
/// claim enormous dimensions to exhaust memory).
const MAX_DIMENSION: u32 = 16_384;
/// What an upload learned about a file before storing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    /// Its type, from its content.
    pub kind: MediaType,
    /// Pixels across, when known.
    pub width: Option<u32>,
    /// Pixels down, when known.
    pub height: Option<u32>,
    /// A video's length, when its header says.
    pub duration_ms: Option<i64>,
    /// A JPEG thumbnail, for images.
    pub thumbnail: Option<Vec<u8>>,
}

/// Recognises, measures and (for images) decodes a file, refusing what OmniPlug does not
/// take. CPU-bound: call it on a blocking thread.
pub fn inspect(bytes: &[u8]) -> Result<Inspected, MediaError> {
    let kind = recognise(bytes, bytes.len() as u64)?;
    if kind.is_video() {
        let (_, moov) = boxes(bytes)
            .find(|(k, _)| k == b"moov")
            .ok_or_else(no_movie_header)?;
        return Ok(video(kind, &movie_info(moov).ok_or_else(no_movie_header)?));
    }
    decode_image(kind, bytes)
}

/// [`inspect`] for a file as it was received: an image is read into memory (they are at most
/// 15 MB), a video only for its movie header, wherever in the file that is.
pub fn inspect_file(file: &mut std::fs::File, len: u64) -> Result<Inspected, MediaError> {
    use std::io::{Read, Seek, SeekFrom};
    let storage = |err: std::io::Error| MediaError::Storage(format!("reading the upload: {err}"));
    let mut head = Vec::with_capacity(16);
    file.seek(SeekFrom::Start(0)).map_err(storage)?;
    file.by_ref()
        .take(16)
        .read_to_end(&mut head)
        .map_err(storage)?;
    let kind = recognise(&head, len)?;
    file.seek(SeekFrom::Start(0)).map_err(storage)?;
    if !kind.is_video() {
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.read_to_end(&mut bytes).map_err(storage)?;
        return decode_image(kind, &bytes);
    }
    // Walk the top-level boxes by their headers alone, and read the movie header's payload.
    let mut at = 0u64;
    for _ in 0..MAX_TOP_LEVEL_BOXES {
        if at.saturating_add(8) > len {
            break;
        }
        let mut header = [0u8; 16];
        file.seek(SeekFrom::Start(at)).map_err(storage)?;
        let got = file.by_ref().take(16).read(&mut header).map_err(storage)?;
        if got < 8 {
            break;
        }
        let size32 = u64::from(u32::from_be_bytes([
            header[0], header[1], header[2], header[3],
        ]));
        let (header_len, size) = match size32 {
            0 => (8, len - at),
            1 if got == 16 => (
                16,
                u64::from_be_bytes(header[8..16].try_into().unwrap_or_default()),
            ),
            1 => break,
            n => (8, n),
        };
        // Sizes come from the file: one that would wrap around or pass the end ends the walk.
        let Some(end) = at.checked_add(size).filter(|end| *end <= len) else {
            break;
        };
        if size < header_len {
            break;
        }
        if &header[4..8] == b"moov" {
            let payload = size - header_len;
            if payload > MAX_MOVIE_HEADER {
                return Err(MediaError::Unsupported(
                    "This MP4's movie header is unusually large; export it again.".into(),
                ));
            }
            let mut moov = Vec::with_capacity(usize::try_from(payload).unwrap_or(0));
            file.seek(SeekFrom::Start(at + header_len))
                .map_err(storage)?;
            file.by_ref()
                .take(payload)
                .read_to_end(&mut moov)
                .map_err(storage)?;
            return Ok(video(kind, &movie_info(&moov).ok_or_else(no_movie_header)?));
        }
        at = end;
    }
    Err(no_movie_header())
}

/// Top-level boxes looked at before giving up on finding the movie header (real files have a
/// handful; a file of tiny boxes must not cost millions of reads).
const MAX_TOP_LEVEL_BOXES: usize = 1_000;

/// The most of an MP4's movie header (`moov`) read to measure it; real ones are kilobytes.
const MAX_MOVIE_HEADER: u64 = 16 * 1024 * 1024;

fn no_movie_header() -> MediaError {
    MediaError::Unsupported(
        "This MP4 could not be read: it has no movie header. Export it again.".into(),
    )
}

/// The type a file's first bytes say it is, refused when OmniPlug does not take it or it is
/// over that type's limit.
fn recognise(head: &[u8], len: u64) -> Result<MediaType, MediaError> {
    let kind = MediaType::sniff(head).ok_or_else(|| {
        MediaError::Unsupported(
            "This file is not a JPEG, PNG, GIF, WebP image or MP4 video. Files are recognised by \
             their content, not their name."
                .into(),
        )
    })?;
    let limit = kind.upload_limit();
    if len > limit {
        return Err(MediaError::TooLarge(format!(
            "This {} is {}; OmniPlug takes {} up to {}.",
            kind.label(),
            size_label(len),
            if kind.is_video() { "videos" } else { "images" },
            size_label(limit)
        )));
    }
    Ok(kind)
}

fn video(kind: MediaType, info: &Mp4Info) -> Inspected {
    Inspected {
        kind,
        width: info.width,
        height: info.height,
        duration_ms: info.duration_ms,
        thumbnail: None,
    }
}

/// Decodes an image (within [`MAX_DIMENSION`]) and makes its thumbnail.
fn decode_image(kind: MediaType, bytes: &[u8]) -> Result<Inspected, MediaError> {
    let unreadable = |err: image::ImageError| {
        MediaError::Unsupported(format!(
            "This file starts like a {} but could not be read as one ({err}).",
            kind.label()
        ))
    };
    let format = match kind {
        MediaType::Jpeg => image::ImageFormat::Jpeg,
        MediaType::Png => image::ImageFormat::Png,
        MediaType::Gif => image::ImageFormat::Gif,
        // Videos returned above.
        MediaType::Webp | MediaType::Mp4 => image::ImageFormat::WebP,
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    reader.limits(limits);
    let decoded = reader.decode().map_err(unreadable)?;
    let rgba = decoded.thumbnail(THUMB_SIZE, THUMB_SIZE).to_rgba8();
    // JPEG has no transparency: lay the thumbnail on white, as the composer's cards are.
    let flat = image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| {
            let (c, a) = (u32::from(c), u32::from(a));
            u8::try_from((c * a + 255 * (255 - a)) / 255).unwrap_or(u8::MAX)
        };
        image::Rgb([over(r), over(g), over(b)])
    });
    let mut thumbnail = Vec::new();
    image::DynamicImage::ImageRgb8(flat)
        .write_to(&mut Cursor::new(&mut thumbnail), image::ImageFormat::Jpeg)
        .map_err(unreadable)?;
    Ok(Inspected {
        kind,
        width: Some(decoded.width()),
        height: Some(decoded.height()),
        duration_ms: None,
        thumbnail: Some(thumbnail),
    })
}

/// What an MP4's movie header says.
#[derive(Debug, Default, PartialEq, Eq)]
struct Mp4Info {
    duration_ms: Option<i64>,
    width: Option<u32>,
    height: Option<u32>,
}

/// Boxes of an ISO base media file (ISO/IEC 14496-12 §4.2): 32-bit size (1 = a 64-bit size
/// follows, 0 = to the end), four-letter type, then the payload.
fn boxes(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let size = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let kind: [u8; 4] = rest.get(4..8)?.try_into().ok()?;
        let (header, size) = match size {
            0 => (8, rest.len()),
            1 => (
                16,
                usize::try_from(u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?)).ok()?,
            ),
            n => (8, n),
        };
        if size < header || size > rest.len() {
            return None;
        }
        let payload = &rest[header..size];
        rest = &rest[size..];
        Some((kind, payload))
    })
}

/// What a movie header (`moov` payload) says; `None` when it is malformed.
fn movie_info(moov: &[u8]) -> Option<Mp4Info> {
    let mut info = Mp4Info::default();
    let be32 = |b: &[u8], at: usize| -> Option<u64> {
        Some(u64::from(u32::from_be_bytes(
            b.get(at..at + 4)?.try_into().ok()?,
        )))
    };
    if let Some((_, mvhd)) = boxes(moov).find(|(k, _)| k == b"mvhd") {
        // version 0: 4 flags, 4 created, 4 modified, 4 timescale, 4 duration;
        // version 1: 4 flags, 8 created, 8 modified, 4 timescale, 8 duration.
        let (timescale, duration) = if mvhd.first() == Some(&1) {
            let d = u64::from_be_bytes(mvhd.get(24..32)?.try_into().ok()?);
            (be32(mvhd, 20)?, d)
        } else {
            (be32(mvhd, 12)?, be32(mvhd, 16)?)
        };
        info.duration_ms = duration
            .saturating_mul(1000)
            .checked_div(timescale)
            .and_then(|ms| i64::try_from(ms).ok());
    }
    for (_, trak) in boxes(moov).filter(|(k, _)| k == b"trak") {
        if let Some((_, tkhd)) = boxes(trak).find(|(k, _)| k == b"tkhd")
            && tkhd.len() >= 8
        {
            // The last 8 bytes are width and height, 16.16 fixed point.
            let at = tkhd.len() - 8;
            let (w, h) = (be32(tkhd, at)? >> 16, be32(tkhd, at + 4)? >> 16);
            if w > 0 && h > 0 {
                info.width = u32::try_from(w).ok();
                info.height = u32::try_from(h).ok();
                break;
            }
        }
    }
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::Incoming;

    #[test]
    fn a_movie_header_gives_length_and_size_in_memory_and_on_disk() {
        let facts = |i: &Inspected| (i.kind, i.width, i.height, i.duration_ms);
        let mp4 = omniplug_testkit::samples::mp4(2_500, 640, 360);
        let expected = (MediaType::Mp4, Some(640), Some(360), Some(2_500));
        assert_eq!(facts(&inspect(&mp4).expect("an mp4")), expected);

        // Received to disk, with 3 MB of media data between the file type and the movie header
        // (as cameras write them): only the headers are read.
        let mut moved = Vec::new();
        for (kind, payload) in boxes(&mp4) {
            moved.extend_from_slice(&(payload.len() as u32 + 8).to_be_bytes());
            moved.extend_from_slice(&kind);
            moved.extend_from_slice(payload);
            if &kind == b"ftyp" {
                let mdat = vec![0u8; 3 * 1024 * 1024];
                moved.extend_from_slice(&(mdat.len() as u32 + 8).to_be_bytes());
                moved.extend_from_slice(b"mdat");
                moved.extend_from_slice(&mdat);
            }
        }
        let mut incoming = Incoming::from_bytes(&moved).expect("received");
        let len = incoming.len();
        assert_eq!(
            facts(&inspect_file(&mut incoming.file, len).expect("an mp4")),
            expected
        );

        assert!(matches!(
            inspect(b"\0\0\0\x10ftypisom\0\0\0\0"),
            Err(MediaError::Unsupported(_))
        ));
    }

    #[test]
    fn a_crafted_video_header_ends_the_walk_instead_of_looping() {
        // A box size that wraps around to an earlier offset (the walk once went 24, 16, 24, …).
        let mut looping = Vec::new();
        looping.extend_from_slice(b"\0\0\0\x18ftypisom\0\0\0\0\0\0\0\x08free");
        looping.extend_from_slice(b"\0\0\0\x01junk");
        looping.extend_from_slice(&(u64::MAX - 7).to_be_bytes());
        // A file of a hundred thousand empty boxes.
        let mut tiny = b"\0\0\0\x10ftypisom\0\0\0\0".to_vec();
        for _ in 0..100_000 {
            tiny.extend_from_slice(b"\0\0\0\x08free");
        }
        for bytes in [looping, tiny] {
            let mut incoming = Incoming::from_bytes(&bytes).expect("received");
            let len = incoming.len();
            assert!(matches!(
                inspect_file(&mut incoming.file, len),
                Err(MediaError::Unsupported(_))
            ));
        }
    }
}
