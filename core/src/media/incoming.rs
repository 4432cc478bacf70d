//! An upload as it arrives: into an unnamed temporary file, measured and hashed on the way,
//! refused as soon as it passes its allowance.

use std::io::Write;

use omniplug_platforms::media::{MAX_VIDEO_BYTES, size_label};

use super::MediaError;

/// A file as it arrives: written to an unnamed temporary file (never held whole in memory),
/// measured and hashed on the way, and refused as soon as it passes its allowance.
pub struct Incoming {
    pub(super) file: std::fs::File,
    pub(super) len: u64,
    allowance: Allowance,
    pub(super) sha256: ring::digest::Context,
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// How much one upload may bring, and what to say when it brings more.
#[derive(Debug, Clone)]
pub struct Allowance {
    /// The most bytes taken.
    pub max: u64,
    /// The refusal past it.
    pub refusal: String,
}

impl Incoming {
    /// Starts receiving a file of at most `allowance.max` bytes, in an unnamed file in `dir`
    /// (on disk: the system's temporary folder may be memory).
    pub fn start_in(dir: &std::path::Path, allowance: Allowance) -> Result<Self, MediaError> {
        let unavailable = |err: std::io::Error| {
            MediaError::Storage(format!("a temporary file for the upload: {err}"))
        };
        std::fs::create_dir_all(dir).map_err(unavailable)?;
        let file = tempfile::tempfile_in(dir).map_err(unavailable)?;
        Ok(Self {
            file,
            len: 0,
            allowance,
            sha256: ring::digest::Context::new(&ring::digest::SHA256),
        })
    }

    /// A whole file already in memory (tests, imports).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MediaError> {
        let mut incoming = Self::start_in(
            &std::env::temp_dir(),
            Allowance {
                max: MAX_VIDEO_BYTES,
                refusal: too_large_refusal(),
            },
        )?;
        incoming.push(bytes)?;
        Ok(incoming)
    }

    /// Appends the next piece. Refuses (and keeps nothing more) once the allowance is passed.
    /// The write lands in the page cache, short enough to make on the async runtime.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), MediaError> {
        self.len += chunk.len() as u64;
        if self.len > self.allowance.max {
            return Err(MediaError::TooLarge(self.allowance.refusal.clone()));
        }
        self.sha256.update(chunk);
        self.file
            .write_all(chunk)
            .map_err(|err| MediaError::Storage(format!("writing the upload: {err}")))
    }

    /// Bytes received so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing has arrived.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The refusal for a file over the largest size OmniPlug takes of any type.
pub fn too_large_refusal() -> String {
    format!(
        "This file is larger than OmniPlug takes ({} at most).",
        size_label(MAX_VIDEO_BYTES)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_past_its_allowance_is_refused_as_it_arrives() {
        let mut incoming = Incoming::start_in(
            &std::env::temp_dir(),
            Allowance {
                max: 10,
                refusal: "full".into(),
            },
        )
        .expect("temp file");
        incoming.push(b"0123456789").expect("fits");
        assert!(matches!(incoming.push(b"!"), Err(MediaError::TooLarge(m)) if m == "full"));
    }
}
