//! API keys: callers send `authorization: Bearer KEY`; keys come from a file (re-read when it
//! changes, so that keys rotate without a restart) or the `NEWSGIST_API_KEYS` variable. Keys
//! are kept as SHA-256 digests and compared in constant time; logs name the key, never show it.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::{Duration, SystemTime},
};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::{metadata::MetadataMap, service::Interceptor, Request, Status};
use tracing::{info, warn};

/// Shortest key accepted: a guessable key is no protection.
const MIN_KEY_BYTES: usize = 16;
/// How often the keys file is checked for changes.
const RELOAD_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read the API keys file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("API key {name:?} ({origin}) is {len} bytes: use at least {MIN_KEY_BYTES} random bytes")]
    TooShort { name: String, origin: String, len: usize },
    #[error("{origin} holds no API key: one per line, NAME:KEY or KEY, # for comments")]
    Empty { origin: String },
}

/// The name of the key a call was made with; requests carry it for logs.
#[derive(Debug, Clone)]
pub struct KeyName(pub String);

struct Key {
    name: String,
    digest: [u8; 32],
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Keys from `text`: one per line (or comma-separated), `NAME:KEY` or a bare `KEY`.
fn parse(text: &str, origin: &str) -> Result<Vec<Key>, AuthError> {
    let mut keys = Vec::new();
    for (index, entry) in text.split(['\n', ',']).map(str::trim).enumerate() {
        if entry.is_empty() || entry.starts_with('#') {
            continue;
        }
        // A name is a short identifier; anything else before a ':' is part of the key, and
        // must never be logged as a name.
        let named = entry.split_once(':').filter(|(name, _)| {
            let name = name.trim();
            (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        });
        let (name, key) = match named {
            Some((name, key)) => (name.trim().to_owned(), key.trim()),
            None => (format!("key-{}", index + 1), entry),
        };
        if key.len() < MIN_KEY_BYTES {
            return Err(AuthError::TooShort {
                name,
                origin: origin.into(),
                len: key.len(),
            });
        }
        keys.push(Key {
            name,
            digest: digest(key),
        });
    }
    if keys.is_empty() {
        return Err(AuthError::Empty { origin: origin.into() });
    }
    Ok(keys)
}

/// The keys a server accepts.
pub struct ApiKeys {
    keys: RwLock<Arc<Vec<Key>>>,
    file: Option<PathBuf>,
}

fn read_file(path: &Path) -> Result<(Vec<Key>, Option<SystemTime>), AuthError> {
    let read = |source| AuthError::Read {
        path: path.into(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(read)?;
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    Ok((parse(&text, &path.display().to_string())?, modified))
}

impl ApiKeys {
    /// The keys of `file` and of `listed` (the variable's value) together; `None` when
    /// neither is given: the server is then open.
    pub fn load(file: Option<&Path>, listed: Option<&str>) -> Result<Option<Arc<ApiKeys>>, AuthError> {
        let mut keys = Vec::new();
        if let Some(path) = file {
            keys.extend(read_file(path)?.0);
        }
        if let Some(listed) = listed {
            keys.extend(parse(listed, "NEWSGIST_API_KEYS")?);
        }
        if file.is_none() && listed.is_none() {
            return Ok(None);
        }
        Ok(Some(Arc::new(ApiKeys {
            keys: RwLock::new(Arc::new(keys)),
            file: file.map(Path::to_path_buf),
        })))
    }

    /// The name of the key `metadata` carries, or UNAUTHENTICATED saying what to send.
    pub fn check(&self, metadata: &MetadataMap) -> Result<String, Status> {
        let presented = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                Status::unauthenticated("this server needs an API key: send the metadata `authorization: Bearer KEY`")
            })?;
        let presented = digest(presented.trim());
        let keys = Arc::clone(&self.keys.read().expect("the key list lock is never poisoned"));
        // Every key is compared, in constant time, so that timing tells nothing.
        let mut found = None;
        for key in keys.iter() {
            if bool::from(key.digest.ct_eq(&presented)) {
                found = Some(key.name.clone());
            }
        }
        found.ok_or_else(|| {
            Status::unauthenticated("the API key is not valid: check the `authorization: Bearer KEY` metadata")
        })
    }

    /// Re-reads the keys file whenever it changes; a file that no longer parses keeps the
    /// keys in force (and says why in the log). Runs until the process ends.
    pub async fn watch(self: Arc<Self>, listed: Option<String>) {
        let Some(path) = self.file.clone() else { return };
        let mut seen = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        loop {
            tokio::time::sleep(RELOAD_EVERY).await;
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            if modified == seen {
                continue;
            }
            seen = modified;
            let reloaded = read_file(&path).and_then(|(mut keys, _)| {
                if let Some(listed) = &listed {
                    keys.extend(parse(listed, "NEWSGIST_API_KEYS")?);
                }
                Ok(keys)
            });
            match reloaded {
                Ok(keys) => {
                    info!(keys = keys.len(), file = %path.display(), "API keys reloaded");
                    *self.keys.write().expect("the key list lock is never poisoned") = Arc::new(keys);
                }
                Err(err) => warn!(%err, "API keys file changed but cannot be used; the previous keys stay in force"),
            }
        }
    }
}

/// Requires a valid key on every call when keys are configured, and records its name.
#[derive(Clone)]
pub struct RequireKey(pub Option<Arc<ApiKeys>>);

impl Interceptor for RequireKey {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(keys) = &self.0 {
            let name = keys.check(request.metadata()).inspect_err(|_| {
                // Refused before any service sees the call, so counted here, for every RPC.
                metrics::counter!(crate::telemetry::UNAUTHENTICATED).increment(1);
            })?;
            request.extensions_mut().insert(KeyName(name));
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(value: &str) -> MetadataMap {
        let mut map = MetadataMap::new();
        map.insert("authorization", value.parse().unwrap());
        map
    }

    #[test]
    fn keys_parse_with_names_comments_and_a_minimum_length() {
        let keys = parse("# ops\nnewsroom: 0123456789abcdef0123\n\nfedcba9876543210fedc\n", "f").unwrap();
        assert_eq!(
            keys.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
            ["newsroom", "key-4"]
        );
        assert!(matches!(parse("a:short", "f"), Err(AuthError::TooShort { .. })));
        assert!(matches!(parse("# nothing\n", "f"), Err(AuthError::Empty { .. })));
        let colon = parse("s3cr3t/with:colon-0123456789", "f").unwrap();
        assert_eq!(colon[0].name, "key-1", "a secret's prefix is never a name");
        assert_eq!(colon[0].digest, digest("s3cr3t/with:colon-0123456789"));
    }

    #[test]
    fn only_a_listed_key_passes_and_the_answer_says_what_to_send() {
        let keys = ApiKeys::load(None, Some("digest:0123456789abcdef0123,batch:fedcba9876543210fedc"))
            .unwrap()
            .unwrap();
        assert_eq!(keys.check(&metadata("Bearer fedcba9876543210fedc")).unwrap(), "batch");
        let wrong = keys.check(&metadata("Bearer 0123456789abcdef0124")).unwrap_err();
        assert_eq!(wrong.code(), tonic::Code::Unauthenticated);
        let missing = keys.check(&MetadataMap::new()).unwrap_err();
        assert!(missing.message().contains("authorization: Bearer KEY"), "{missing:?}");
        assert!(ApiKeys::load(None, None).unwrap().is_none(), "no keys configured: open");
    }
}
