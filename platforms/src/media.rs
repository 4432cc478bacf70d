//! What media each network takes: the file types OmniPlug accepts (recognised by their first
//! bytes, never by name or declared type), and per network the formats, sizes and counts it
//! publishes. No I/O, so the composer (WASM) checks with the same rules as the server.

use serde::{Deserialize, Serialize};

use crate::Platform;

/// A file type OmniPlug accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MediaType {
    /// `image/jpeg`
    #[serde(rename = "image/jpeg")]
    Jpeg,
    /// `image/png`
    #[serde(rename = "image/png")]
    Png,
    /// `image/gif`
    #[serde(rename = "image/gif")]
    Gif,
    /// `image/webp`
    #[serde(rename = "image/webp")]
    Webp,
    /// `video/mp4`
    #[serde(rename = "video/mp4")]
    Mp4,
}

/// ISO base media brands of MP4 files (`ftyp` box, ISO/IEC 14496-12 and 14496-14); QuickTime
/// (`qt  `) and audio-only brands are left out on purpose.
const MP4_BRANDS: [&[u8; 4]; 14] = [
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso8", b"iso9", b"mp41", b"mp42",
    b"avc1", b"M4V ", b"dash", b"MSNV",
];

impl MediaType {
    /// Every accepted type.
    pub const ALL: [MediaType; 5] = [Self::Jpeg, Self::Png, Self::Gif, Self::Webp, Self::Mp4];

    /// Recognises a file by its first bytes (its "magic"), whatever it is called.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        match head {
            [0xFF, 0xD8, 0xFF, ..] => Some(Self::Jpeg),
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(Self::Png),
            [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(Self::Gif),
            [
                b'R',
                b'I',
                b'F',
                b'F',
                _,
                _,
                _,
                _,
                b'W',
                b'E',
                b'B',
                b'P',
                ..,
            ] => Some(Self::Webp),
            [_, _, _, _, b'f', b't', b'y', b'p', a, b, c, d, ..]
                if MP4_BRANDS.contains(&&[*a, *b, *c, *d]) =>
            {
                Some(Self::Mp4)
            }
            _ => None,
        }
    }

    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Mp4 => "video/mp4",
        }
    }

    /// Parses a MIME type as produced by [`MediaType::mime`].
    pub fn from_mime(mime: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.mime() == mime)
    }

    /// The short name people know.
    pub fn label(self) -> &'static str {
        match self {
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
            Self::Gif => "GIF",
            Self::Webp => "WebP",
            Self::Mp4 => "MP4",
        }
    }

    /// Whether this is a video.
    pub fn is_video(self) -> bool {
        self == Self::Mp4
    }

    /// The largest file of this kind OmniPlug stores at all (the networks' own limits are
    /// checked per post, see [`check`]).
    pub fn upload_limit(self) -> u64 {
        if self.is_video() {
            MAX_VIDEO_BYTES
        } else {
            MAX_IMAGE_BYTES
        }
    }
}

/// The largest image OmniPlug stores: X's limit for GIFs, the largest any network takes.
pub const MAX_IMAGE_BYTES: u64 = 15 * 1024 * 1024;
/// The largest video OmniPlug stores.
pub const MAX_VIDEO_BYTES: u64 = 200 * 1024 * 1024;
/// At most this many images on one post…
pub const MAX_IMAGES: usize = 4;
/// …or this many videos (and then nothing else).
pub const MAX_VIDEOS: usize = 1;
/// Alt text longer than this is refused (X's `alt_text.text` limit, docs.x.com media metadata).
pub const MAX_ALT_CHARS: usize = 1_000;

/// What the rules need to know about one attached file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaFacts {
    /// Its type.
    pub kind: MediaType,
    /// Its size in bytes.
    pub bytes: u64,
    /// Pixels across (0 when unknown).
    pub width: u32,
    /// Pixels down (0 when unknown).
    pub height: u32,
}

/// What one network publishes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Image types it takes.
    pub image_types: &'static [MediaType],
    /// The largest image, in bytes.
    pub image_bytes: u64,
    /// The largest GIF, when it differs from other images.
    pub gif_bytes: Option<u64>,
    /// The most pixels in one image, when the network caps it.
    pub max_pixels: Option<u64>,
    /// The allowed width/height ratio, when the network restricts it.
    pub aspect: Option<(f64, f64)>,
    /// The largest video, when OmniPlug publishes video there (MP4).
    pub video_bytes: Option<u64>,
    /// Whether a post must carry media there.
    pub needs_media: bool,
}

const MB: u64 = 1024 * 1024;
const ALL_IMAGES: &[MediaType] = &[
    MediaType::Jpeg,
    MediaType::Png,
    MediaType::Gif,
    MediaType::Webp,
];

/// What `platform` takes.
pub fn limits(platform: Platform) -> Limits {
    match platform {
        // docs.x.com/x-api/media/quickstart/best-practices: images 5 MB, GIFs 15 MB (JPG, PNG,
        // GIF, WEBP); up to 4 images per post (TweetCreateRequest `media_ids` 1..4).
        Platform::X => Limits {
            image_types: ALL_IMAGES,
            image_bytes: 5 * MB,
            gif_bytes: Some(15 * MB),
            max_pixels: None,
            aspect: None,
            // Same page: videos up to 512 MB (chunked upload, `tweet_video`).
            video_bytes: Some(512 * MB),
            needs_media: false,
        },
        // Images API (learn.microsoft.com/linkedin/marketing/community-management/shares/
        // images-api): JPG, GIF and PNG, at most 36,152,320 pixels; no byte limit is documented,
        // OmniPlug's own applies. Videos API (…/shares/videos-api): MP4 up to 500 MB.
        Platform::LinkedIn => Limits {
            image_types: &[MediaType::Jpeg, MediaType::Png, MediaType::Gif],
            image_bytes: MAX_IMAGE_BYTES,
            gif_bytes: None,
            max_pixels: Some(36_152_320),
            aspect: None,
            video_bytes: Some(500 * MB),
            needs_media: false,
        },
        // Meta's content-publishing guide, image specifications: JPEG only, 8 MB at most,
        // aspect ratio between 4:5 and 1.91:1; a feed post needs an image or a video. Reels
        // specifications: MP4, 300 MB at most.
        Platform::Instagram => Limits {
            image_types: &[MediaType::Jpeg],
            image_bytes: 8 * MB,
            gif_bytes: None,
            max_pixels: None,
            aspect: Some((0.8, 1.91)),
            video_bytes: Some(300 * MB),
            needs_media: true,
        },
        // Lexicon app.bsky.embed.images: at most 4 images, each blob `maxSize: 1000000`;
        // app.bsky.embed.video: one `video/mp4` blob, `maxSize: 100000000`.
        Platform::Bluesky => Limits {
            image_types: ALL_IMAGES,
            image_bytes: 1_000_000,
            gif_bytes: None,
            max_pixels: None,
            aspect: None,
            video_bytes: Some(100_000_000),
            needs_media: false,
        },
        Platform::Sandbox => Limits {
            image_types: ALL_IMAGES,
            image_bytes: 5 * MB,
            gif_bytes: None,
            max_pixels: None,
            aspect: None,
            video_bytes: Some(100_000_000),
            needs_media: false,
        },
    }
}

/// "1.2 MB", "800 KB".
pub fn size_label(bytes: u64) -> String {
    if bytes >= MB {
        let tenths = (bytes * 10).div_ceil(MB);
        if tenths.is_multiple_of(10) {
            format!("{} MB", tenths / 10)
        } else {
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    } else {
        format!("{} KB", bytes.div_ceil(1024).max(1))
    }
}

/// The first problem with attaching `items` to any post: too many, or video mixed with images.
pub fn check_set(items: &[MediaFacts]) -> Option<String> {
    let videos = items.iter().filter(|m| m.kind.is_video()).count();
    if videos > 0 && items.len() > videos {
        return Some("A post carries either images or one video, not both.".into());
    }
    if videos > MAX_VIDEOS {
        return Some("A post carries at most 1 video.".into());
    }
    if items.len() > MAX_IMAGES {
        return Some(format!(
            "A post carries at most {MAX_IMAGES} images; remove {}.",
            items.len() - MAX_IMAGES
        ));
    }
    None
}

/// The first problem with publishing `items` to `platform`, in words that say what to do.
pub fn check(platform: Platform, items: &[MediaFacts]) -> Option<String> {
    let name = platform.display_name();
    let rules = limits(platform);
    if items.is_empty() {
        return rules
            .needs_media
            .then(|| format!("{name} posts need an image or a video: add one.")); // Instagram has no text-only feed posts.
    }
    for (n, item) in items.iter().enumerate() {
        let which = if items.len() == 1 {
            "The file".to_owned()
        } else {
            format!("Item {}", n + 1)
        };
        if item.kind.is_video() {
            match rules.video_bytes {
                None => {
                    return Some(format!(
                        "Publishing video to {name} is not supported yet; attach images instead."
                    ));
                }
                Some(cap) if item.bytes > cap => {
                    return Some(format!(
                        "{which} is {}; {name} takes videos up to {}.",
                        size_label(item.bytes),
                        size_label(cap)
                    ));
                }
                Some(_) => continue,
            }
        }
        if !rules.image_types.contains(&item.kind) {
            let takes: Vec<&str> = rules.image_types.iter().map(|t| t.label()).collect();
            return Some(format!(
                "{which} is a {}; {name} takes {} images.",
                item.kind.label(),
                takes.join(", ")
            ));
        }
        let cap = match (item.kind, rules.gif_bytes) {
            (MediaType::Gif, Some(gif)) => gif,
            _ => rules.image_bytes,
        };
        if item.bytes > cap {
            return Some(format!(
                "{which} is {}; {name} takes images up to {}.",
                size_label(item.bytes),
                size_label(cap)
            ));
        }
        if let Some(max) = rules.max_pixels
            && u64::from(item.width) * u64::from(item.height) > max
        {
            return Some(format!(
                "{which} is {}×{} pixels; {name} takes at most {max} pixels.",
                item.width, item.height
            ));
        }
        if let Some((low, high)) = rules.aspect
            && item.width > 0
            && item.height > 0
        {
            let ratio = f64::from(item.width) / f64::from(item.height);
            if ratio < low - 0.005 || ratio > high + 0.005 {
                return Some(format!(
                    "{which} is {}×{}; {name} takes images between 4:5 (portrait) and 1.91:1 (landscape). Crop it.",
                    item.width, item.height
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(kind: MediaType, bytes: u64) -> MediaFacts {
        MediaFacts {
            kind,
            bytes,
            width: 1200,
            height: 1000,
        }
    }

    #[test]
    fn files_are_recognised_by_their_first_bytes() {
        assert_eq!(
            MediaType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(MediaType::Jpeg)
        );
        assert_eq!(
            MediaType::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(MediaType::Png)
        );
        assert_eq!(MediaType::sniff(b"GIF89a.."), Some(MediaType::Gif));
        assert_eq!(
            MediaType::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(MediaType::Webp)
        );
        assert_eq!(
            MediaType::sniff(b"\0\0\0\x20ftypisom\0\0\x02\0"),
            Some(MediaType::Mp4)
        );
        // An ELF executable, a QuickTime movie, a script and nothing at all are not media.
        assert_eq!(MediaType::sniff(b"\x7fELF\x02\x01\x01\0"), None);
        assert_eq!(MediaType::sniff(b"\0\0\0\x14ftypqt  "), None);
        assert_eq!(MediaType::sniff(b"#!/bin/sh\n"), None);
        assert_eq!(MediaType::sniff(b""), None);
    }

    #[test]
    fn mime_round_trips_and_matches_serde() {
        for t in MediaType::ALL {
            assert_eq!(MediaType::from_mime(t.mime()), Some(t));
            assert_eq!(
                serde_json::to_string(&t).expect("serializes"),
                format!("\"{}\"", t.mime())
            );
        }
    }

    #[test]
    fn a_post_has_four_images_or_one_video() {
        let four = vec![image(MediaType::Png, 10); 4];
        assert_eq!(check_set(&four), None);
        let five = vec![image(MediaType::Png, 10); 5];
        assert_eq!(
            check_set(&five).as_deref(),
            Some("A post carries at most 4 images; remove 1.")
        );
        let mixed = [image(MediaType::Png, 10), image(MediaType::Mp4, 10)];
        assert!(check_set(&mixed).is_some_and(|m| m.contains("not both")));
        let two_videos = [image(MediaType::Mp4, 10), image(MediaType::Mp4, 10)];
        assert!(check_set(&two_videos).is_some());
    }

    #[test]
    fn each_network_gets_its_own_limits() {
        let big = [image(MediaType::Jpeg, 1_200_000)];
        assert_eq!(check(Platform::X, &big), None);
        assert_eq!(
            check(Platform::Bluesky, &big).as_deref(),
            Some("The file is 1.2 MB; Bluesky takes images up to 977 KB.")
        );
        let webp = [image(MediaType::Webp, 1000)];
        assert!(check(Platform::Instagram, &webp).is_some_and(|m| m.contains("JPEG")));
        assert!(check(Platform::LinkedIn, &webp).is_some_and(|m| m.contains("JPEG, PNG, GIF")));
        let gif = [image(MediaType::Gif, 10 * MB)];
        assert_eq!(check(Platform::X, &gif), None, "X takes GIFs up to 15 MB");
        assert!(check(Platform::X, &[image(MediaType::Png, 6 * MB)]).is_some());
        assert!(
            check(Platform::Instagram, &[]).is_some_and(|m| m.contains("need an image or a video")),
            "Instagram has no text-only posts"
        );
        assert_eq!(check(Platform::X, &[]), None);
        let tall = [MediaFacts {
            kind: MediaType::Jpeg,
            bytes: 1000,
            width: 500,
            height: 1000,
        }];
        assert!(check(Platform::Instagram, &tall).is_some_and(|m| m.contains("4:5")));
        assert_eq!(check(Platform::X, &tall), None);
        let video = [image(MediaType::Mp4, 1000)];
        for p in Platform::ALL {
            assert_eq!(check(p, &video), None, "{p:?} publishes video");
        }
        let long = [image(MediaType::Mp4, 150 * MB)];
        assert_eq!(
            check(Platform::Bluesky, &long).as_deref(),
            Some("The file is 150 MB; Bluesky takes videos up to 95.4 MB.")
        );
        assert_eq!(check(Platform::X, &long), None);
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(size_label(5 * MB), "5 MB");
        assert_eq!(size_label(1_000_000), "977 KB");
        assert_eq!(size_label(1_300_000), "1.3 MB");
        assert_eq!(size_label(10), "1 KB");
    }
}
