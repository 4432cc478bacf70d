//! Where media bytes live: a local folder or an S3-compatible bucket, and the one shared copy
//! of a file being read by many at once.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError, Weak},
};

use bytes::Bytes;
use object_store::{
    ObjectStore, PutPayload, aws::AmazonS3Builder, local::LocalFileSystem, path::Path,
};
use sea_orm::prelude::Uuid;

use super::MediaError;
use crate::{config::MediaSettings, entities::media_asset};

/// Files up to this size are stored in one request; larger ones in parts of [`PART_SIZE`].
const ONE_REQUEST_PUT: u64 = 16 * 1024 * 1024;
/// A part of a large file (S3 takes parts of 5 MiB and up).
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Where media bytes live. Cloning is cheap (clones share everything, open reads too).
#[derive(Clone)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
    backend: &'static str,
    public_url: Option<String>,
    open: Arc<Mutex<HashMap<String, Weak<OpenFile>>>>,
}

/// A stored file being read by [`MediaStore::read_shared`]: its bytes, once they have arrived.
struct OpenFile(tokio::sync::OnceCell<Bytes>);

/// The owner behind the `Bytes` that [`MediaStore::read_shared`] hands out: while any of them
/// lives, so does the one copy of the file.
struct SharedFile(Arc<OpenFile>);

impl AsRef<[u8]> for SharedFile {
    fn as_ref(&self) -> &[u8] {
        self.0.0.get().map_or(&[], Bytes::as_ref)
    }
}

impl std::fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaStore")
            .field("backend", &self.backend)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl MediaStore {
    /// Opens the configured bucket, or the local folder (created if missing).
    pub fn open(settings: &MediaSettings) -> Result<Self, MediaError> {
        let (store, backend): (Arc<dyn ObjectStore>, _) = match &settings.s3 {
            Some(s3) => {
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region);
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_virtual_hosted_style_request(false)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                if let Some(id) = &s3.access_key_id {
                    builder = builder.with_access_key_id(id);
                }
                if let Some(secret) = &s3.secret_access_key {
                    builder = builder.with_secret_access_key(secret.expose());
                }
                (Arc::new(builder.build()?), "s3")
            }
            None => {
                std::fs::create_dir_all(&settings.dir).map_err(|err| {
                    MediaError::Storage(format!("{}: {err}", settings.dir.display()))
                })?;
                (
                    Arc::new(LocalFileSystem::new_with_prefix(&settings.dir)?),
                    "local",
                )
            }
        };
        Ok(Self {
            store,
            backend,
            public_url: settings.public_url.clone(),
            open: Arc::default(),
        })
    }

    /// `local` or `s3`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Whether networks that fetch media by address (Instagram) can be served.
    pub fn has_public_url(&self) -> bool {
        self.public_url.is_some()
    }

    /// The address a network fetches `asset` from, when a public base is configured.
    pub fn public_url(&self, asset: &media_asset::Model) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|base| format!("{base}/media/public/{}/{}", asset.id, asset.public_token))
    }

    /// The stored file.
    pub async fn read(&self, asset: &media_asset::Model) -> Result<Bytes, MediaError> {
        self.read_key(&asset.storage_key).await
    }

    async fn read_key(&self, key: &str) -> Result<Bytes, MediaError> {
        Ok(self.store.get(&Path::from(key)).await?.bytes().await?)
    }

    /// The stored file, as one copy shared by everyone reading it at the same time: the thirty
    /// targets of a post carrying a 95 MB video hold 95 MB between them, read from the store
    /// once, and it is freed when the last of them lets go.
    pub async fn read_shared(&self, asset: &media_asset::Model) -> Result<Bytes, MediaError> {
        self.read_key_shared(&asset.storage_key).await
    }

    async fn read_key_shared(&self, key: &str) -> Result<Bytes, MediaError> {
        let file = {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            open.retain(|_, file| file.strong_count() > 0);
            if let Some(file) = open.get(key).and_then(Weak::upgrade) {
                file
            } else {
                let file = Arc::new(OpenFile(tokio::sync::OnceCell::new()));
                open.insert(key.to_owned(), Arc::downgrade(&file));
                file
            }
        };
        // Readers arriving while it loads wait for the same read; a failed read is tried again
        // by the next one.
        file.0.get_or_try_init(|| self.read_key(key)).await?;
        Ok(Bytes::from_owner(SharedFile(file)))
    }

    /// Removes every file of a workspace (after the workspace is deleted).
    pub async fn remove_workspace(&self, workspace_id: Uuid) -> Result<usize, MediaError> {
        use futures::{StreamExt, TryStreamExt};
        let prefix = Path::from(format!("media/{workspace_id}"));
        let keys: Vec<Path> = self
            .store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        let count = keys.len();
        let mut removed = self
            .store
            .delete_stream(futures::stream::iter(keys.into_iter().map(Ok)).boxed());
        while let Some(done) = removed.next().await {
            match done {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(count)
    }

    /// Stores a received file: small ones in one request, larger ones in parts as they are
    /// read from disk, so memory holds a few parts, never the file.
    pub(super) async fn put_file(
        &self,
        key: &Path,
        file: std::fs::File,
        len: u64,
    ) -> Result<(), MediaError> {
        use tokio::io::AsyncReadExt;
        let storage =
            |err: std::io::Error| MediaError::Storage(format!("reading the upload: {err}"));
        let mut file = tokio::fs::File::from_std(file);
        if len <= ONE_REQUEST_PUT {
            let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            file.read_to_end(&mut bytes).await.map_err(storage)?;
            return self.put(key, Bytes::from(bytes)).await;
        }
        let upload = self.store.put_multipart(key).await?;
        let mut parts = object_store::WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buffer = vec![0u8; 1024 * 1024];
        loop {
            let n = match file.read(&mut buffer).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) => {
                    let _ = parts.abort().await;
                    return Err(storage(err));
                }
            };
            // At most two parts in flight at once.
            if let Err(err) = parts.wait_for_capacity(2).await {
                let _ = parts.abort().await;
                return Err(err.into());
            }
            parts.write(&buffer[..n]);
        }
        // `finish` gives up on a failed part without aborting: wait for every part first, so a
        // failure aborts the upload and leaves no parts in the bucket.
        if let Err(err) = parts.wait_for_capacity(0).await {
            let _ = parts.abort().await;
            return Err(err.into());
        }
        parts.finish().await?;
        Ok(())
    }

    /// The thumbnail (JPEG), for images.
    pub async fn read_thumbnail(&self, asset: &media_asset::Model) -> Result<Bytes, MediaError> {
        Ok(self
            .store
            .get(&thumb_key(&asset.storage_key))
            .await?
            .bytes()
            .await?)
    }

    pub(super) async fn put(&self, key: &Path, bytes: Bytes) -> Result<(), MediaError> {
        self.store.put(key, PutPayload::from(bytes)).await?;
        Ok(())
    }

    pub(super) async fn remove(&self, key: &Path) -> Result<(), MediaError> {
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }
}

pub(super) fn thumb_key(storage_key: &str) -> Path {
    Path::from(format!("{storage_key}.thumb.jpg"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn readers_at_the_same_time_share_one_copy_which_is_freed_after_them() {
        let dir = tempfile::tempdir().expect("dir");
        let store = MediaStore::open(&MediaSettings {
            dir: dir.path().to_owned(),
            ..MediaSettings::default()
        })
        .expect("store");
        let key = Path::from("media/w/a");
        store
            .put(&key, Bytes::from(vec![7u8; 1024 * 1024]))
            .await
            .expect("put");
        let (a, b) = tokio::join!(
            store.read_key_shared("media/w/a"),
            store.read_key_shared("media/w/a")
        );
        let (a, b) = (a.expect("read"), b.expect("read"));
        assert_eq!(a.len(), 1024 * 1024);
        assert_eq!(a.as_ptr(), b.as_ptr(), "one copy for both readers");
        let weak = Arc::downgrade(
            &store
                .open
                .lock()
                .expect("lock")
                .get("media/w/a")
                .and_then(Weak::upgrade)
                .expect("open while read"),
        );
        drop((a, b));
        assert!(
            weak.upgrade().is_none(),
            "freed when the last reader is done"
        );
        // A later reader reads it again.
        assert_eq!(
            store
                .read_key_shared("media/w/a")
                .await
                .expect("read")
                .len(),
            1024 * 1024
        );
    }
}
