//! The server's ECH key set: lookup by `config_id`, retry configs, and rotation.
//!
//! An [`EchKeys`] is an immutable snapshot. A connection takes one when its handshake starts
//! and keeps it to the end, so a rotation never changes the keys or the `retry_configs`
//! (RFC 9849 §7.1) a handshake already in progress uses. [`EchKeyStore`] holds the current
//! snapshot and swaps it atomically; [`EchKeyReloader`] rereads a store's files and keeps
//! removed keys, no longer offered for retry, for a grace period.

use core::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use rustls::crypto::hpke::HpkePrivateKey;

use crate::config::{ConfigError, EchConfig, EchConfigList};
use crate::keyfile::{KeyFile, KeyFileError};

/// An error building a key set.
#[derive(Debug)]
#[non_exhaustive]
pub enum KeysError {
    /// A key file could not be used.
    File {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        error: KeyFileError,
    },
    /// A key file holds configs but no private key.
    NoPrivateKey(PathBuf),
    /// The key directory could not be listed.
    Directory {
        /// The directory.
        path: PathBuf,
        /// The error listing it.
        error: std::io::Error,
    },
    /// The `retry_configs` list of the keys marked for retry would not fit its 2-byte length.
    RetryConfigs(ConfigError),
    /// [`EchKeyStore::reload`] on a store that was not built from files.
    NoSource,
}

impl fmt::Display for KeysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { path, error } => write!(f, "{}: {error}", path.display()),
            Self::NoPrivateKey(path) => write!(f, "{}: no PRIVATE KEY block", path.display()),
            Self::Directory { path, error } => write!(f, "{}: {error}", path.display()),
            Self::RetryConfigs(err) => write!(f, "retry_configs: {err}"),
            Self::NoSource => f.write_str("the key store was not loaded from files"),
        }
    }
}

impl std::error::Error for KeysError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::File { error, .. } => Some(error),
            Self::Directory { error, .. } => Some(error),
            Self::RetryConfigs(err) => Some(err),
            _ => None,
        }
    }
}

/// One ECH key: a config, its HPKE private key, and whether the config is sent in
/// `retry_configs` when ECH is rejected (RFC 9849 §7.1).
///
/// The private key is wiped from memory when the key is dropped, and never shown by `Debug`.
pub struct EchKey {
    config: EchConfig,
    private_key: HpkePrivateKey,
    retry: bool,
}

impl EchKey {
    /// A key from its parts. The caller vouches that `private_key` belongs to `config`; key
    /// files are checked when read (see [`KeyFile`]).
    pub fn new(config: EchConfig, private_key: HpkePrivateKey, retry: bool) -> Self {
        Self {
            config,
            private_key,
            retry,
        }
    }

    /// The key of a key file, or `None` when the file has no private key.
    pub fn from_key_file(file: KeyFile, retry: bool) -> Option<Self> {
        let (config, private_key) = file.into_key()?;
        Some(Self::new(config, private_key, retry))
    }

    /// The ECHConfig.
    pub fn config(&self) -> &EchConfig {
        &self.config
    }

    /// The HPKE private key.
    pub fn private_key(&self) -> &HpkePrivateKey {
        &self.private_key
    }

    /// Whether the config goes into `retry_configs`.
    pub fn retry(&self) -> bool {
        self.retry
    }
}

impl Clone for EchKey {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            private_key: HpkePrivateKey::from(self.private_key.secret_bytes().to_vec()),
            retry: self.retry,
        }
    }
}

impl fmt::Debug for EchKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EchKey")
            .field("config_id", &self.config.config_id())
            .field("kem", &self.config.kem())
            .field("public_name", &self.config.public_name())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// An immutable set of ECH keys.
///
/// Keys are kept in the order given; several may share a `config_id` (RFC 9849 §7.1 has the
/// server try each). `retry_configs` is encoded once, when the set is built.
pub struct EchKeys {
    keys: Vec<EchKey>,
    retry_configs: Arc<[u8]>,
}

impl EchKeys {
    /// A set of `keys`, in order. Fails only when the configs marked for retry are too large
    /// to fit one ECHConfigList.
    pub fn new(keys: Vec<EchKey>) -> Result<Self, KeysError> {
        let retry: Vec<EchConfig> = keys
            .iter()
            .filter(|key| key.retry)
            .map(|key| key.config.clone())
            .collect();
        let retry_configs: Arc<[u8]> = if retry.is_empty() {
            Arc::from(&[][..])
        } else {
            let list = EchConfigList::new(retry).map_err(KeysError::RetryConfigs)?;
            Arc::from(list.encoded())
        };
        for key in &keys {
            if key.config.has_unsupported_mandatory_extension() {
                log::warn!(
                    "ECHConfig config_id={} has a mandatory extension; clients will ignore it",
                    key.config.config_id()
                );
            }
        }
        log::debug!("ECH key set of {} keys", keys.len());
        Ok(Self {
            keys,
            retry_configs,
        })
    }

    /// An empty set: every ClientHello offering ECH is rejected, with no retry configs.
    pub fn empty() -> Self {
        Self {
            keys: Vec::new(),
            retry_configs: Arc::from(&[][..]),
        }
    }

    /// Reads one key from each PEM key file, in the order given; each is marked for retry.
    /// Every file must hold a private key; a config in a file's list other than the key's own
    /// is not part of the set.
    pub fn from_pem_files<P: AsRef<Path>>(
        paths: impl IntoIterator<Item = P>,
    ) -> Result<Self, KeysError> {
        let keys = paths
            .into_iter()
            .map(|path| read_key(path.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(keys)
    }

    /// Reads every regular file (or link to one) whose name ends in `.pem` in `dir`, not its
    /// subdirectories, in
    /// byte order of the file names, as [`EchKeys::from_pem_files`] does.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, KeysError> {
        Self::from_pem_files(pem_files_in(dir.as_ref())?)
    }

    /// Every key, in order.
    pub fn keys(&self) -> &[EchKey] {
        &self.keys
    }

    /// The keys whose config has this `config_id`, in order.
    pub fn by_config_id(&self, config_id: u8) -> impl Iterator<Item = &EchKey> + '_ {
        self.keys
            .iter()
            .filter(move |key| key.config.config_id() == config_id)
    }

    /// The encoded ECHConfigList (2-byte length included) of the keys marked for retry, as
    /// sent in `retry_configs` (RFC 9849 §7.1); empty when no key is marked.
    pub fn retry_configs(&self) -> &[u8] {
        &self.retry_configs
    }

    /// [`EchKeys::retry_configs`], shared rather than borrowed.
    pub fn retry_configs_shared(&self) -> Arc<[u8]> {
        Arc::clone(&self.retry_configs)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl fmt::Debug for EchKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EchKeys")
            .field("keys", &self.keys)
            .field("retry_configs_len", &self.retry_configs.len())
            .finish()
    }
}

/// Where an [`EchKeyStore`] reloads from.
#[derive(Clone, Debug)]
enum Source {
    Files(Vec<PathBuf>),
    Dir(PathBuf),
}

/// The current [`EchKeys`], replaceable while connections use older snapshots.
pub struct EchKeyStore {
    current: RwLock<Arc<EchKeys>>,
    source: Option<Source>,
}

impl EchKeyStore {
    /// A store holding `keys`; [`EchKeyStore::reload`] is unavailable.
    pub fn new(keys: EchKeys) -> Self {
        Self {
            current: RwLock::new(Arc::new(keys)),
            source: None,
        }
    }

    /// A store loaded from PEM key files, which [`EchKeyStore::reload`] reads again.
    pub fn from_pem_files<P: AsRef<Path>>(
        paths: impl IntoIterator<Item = P>,
    ) -> Result<Self, KeysError> {
        let paths: Vec<PathBuf> = paths.into_iter().map(|p| p.as_ref().to_owned()).collect();
        let keys = EchKeys::from_pem_files(&paths)?;
        Ok(Self {
            current: RwLock::new(Arc::new(keys)),
            source: Some(Source::Files(paths)),
        })
    }

    /// A store loaded from a directory of PEM key files (see [`EchKeys::from_dir`]), which
    /// [`EchKeyStore::reload`] lists and reads again.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, KeysError> {
        let dir = dir.as_ref().to_owned();
        let keys = EchKeys::from_dir(&dir)?;
        Ok(Self {
            current: RwLock::new(Arc::new(keys)),
            source: Some(Source::Dir(dir)),
        })
    }

    /// The current key set. Hold it for the whole handshake.
    pub fn snapshot(&self) -> Arc<EchKeys> {
        // A panic elsewhere while holding the lock cannot leave the Arc half-written.
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Makes `keys` current, returning the set it replaces. Snapshots already taken are
    /// unaffected.
    pub fn replace(&self, keys: EchKeys) -> Arc<EchKeys> {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        core::mem::replace(&mut *current, Arc::new(keys))
    }

    /// Reads the files or directory the store was built from again and makes the result
    /// current. On any error the current set stays in place.
    pub fn reload(&self) -> Result<Arc<EchKeys>, KeysError> {
        let keys = Arc::new(self.read_source()?);
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        *current = Arc::clone(&keys);
        log::debug!("ECH keys reloaded: {} keys", keys.len());
        Ok(keys)
    }
}

impl EchKeyStore {
    /// The keys in the files or directory the store was built from, each marked for retry.
    fn read_source(&self) -> Result<EchKeys, KeysError> {
        match &self.source {
            Some(Source::Files(paths)) => EchKeys::from_pem_files(paths),
            Some(Source::Dir(dir)) => EchKeys::from_dir(dir),
            None => Err(KeysError::NoSource),
        }
    }
}

impl fmt::Debug for EchKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EchKeyStore")
            .field("current", &self.snapshot())
            .field("source", &self.source)
            .finish()
    }
}

fn read_key(path: &Path) -> Result<EchKey, KeysError> {
    let file = KeyFile::read(path).map_err(|error| KeysError::File {
        path: path.to_owned(),
        error,
    })?;
    EchKey::from_key_file(file, true).ok_or_else(|| KeysError::NoPrivateKey(path.to_owned()))
}

fn pem_files_in(dir: &Path) -> Result<Vec<PathBuf>, KeysError> {
    let dir_error = |error| KeysError::Directory {
        path: dir.to_owned(),
        error,
    };
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(dir_error)? {
        let entry = entry.map_err(dir_error)?;
        let path = entry.path();
        let is_pem = path.extension().is_some_and(|ext| ext == "pem");
        // Follow symbolic links: mounted secrets are often links to the real files.
        if is_pem && fs::metadata(&path).map_err(dir_error)?.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

impl From<EchKeys> for EchKeyStore {
    fn from(keys: EchKeys) -> Self {
        Self::new(keys)
    }
}

/// Reloads an [`EchKeyStore`] from its files, keeping removed keys for a grace period.
///
/// Rotation in practice: publish a new config in DNS, add its key file, and remove the old
/// one. Clients keep the old ECHConfigList until their DNS cache expires, so a key whose file
/// is gone still opens ClientHellos for `grace` (set it to at least the DNS record's TTL).
/// While it is retiring the key is not marked for retry, so `retry_configs`
/// (RFC 9849 §7.1) always lists exactly the keys whose files are present.
///
/// Keys are told apart by their encoded ECHConfig (which holds the public key). A key file
/// that comes back before its grace period ends makes the key current again.
#[derive(Debug)]
pub struct EchKeyReloader {
    grace: Duration,
    retiring: Vec<Retiring>,
}

#[derive(Debug)]
struct Retiring {
    key: EchKey,
    until: Instant,
}

/// What one [`EchKeyReloader::reload`] changed.
#[derive(Debug)]
#[non_exhaustive]
pub struct Reloaded {
    /// The key set now current.
    pub keys: Arc<EchKeys>,
    /// Whether the store's key set was replaced (a key was added, retired or expired).
    pub changed: bool,
    /// The `config_id` of each key whose file appeared.
    pub added: Vec<u8>,
    /// The `config_id` of each key whose file disappeared and that now retires.
    pub retired: Vec<u8>,
    /// The `config_id` of each retiring key whose grace period ended.
    pub expired: Vec<u8>,
}

impl EchKeyReloader {
    /// A reloader that keeps removed keys for `grace`.
    pub fn new(grace: Duration) -> Self {
        Self {
            grace,
            retiring: Vec::new(),
        }
    }

    /// The grace period.
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// Reads `store`'s files again ([`EchKeyStore::from_dir`] or
    /// [`EchKeyStore::from_pem_files`]), retires the keys whose files are gone, drops those
    /// retired longer than the grace period, and replaces the store's key set if anything
    /// changed. On error the store is left as it was.
    pub fn reload(&mut self, store: &EchKeyStore) -> Result<Reloaded, KeysError> {
        self.reload_at(store, Instant::now())
    }

    /// [`EchKeyReloader::reload`], as if the time were `now`.
    pub fn reload_at(&mut self, store: &EchKeyStore, now: Instant) -> Result<Reloaded, KeysError> {
        let fresh = store.read_source()?;
        let previous = store.snapshot();
        let in_fresh = |key: &EchKey| fresh.keys().iter().any(|k| k.config == key.config);
        let mut report = Reloaded {
            keys: Arc::clone(&previous),
            changed: false,
            added: Vec::new(),
            retired: Vec::new(),
            expired: Vec::new(),
        };

        for key in fresh.keys() {
            if !previous
                .keys()
                .iter()
                .any(|k| k.retry && k.config == key.config)
            {
                report.added.push(key.config.config_id());
            }
        }
        self.retiring.retain(|old| !in_fresh(&old.key));

        for key in previous.keys() {
            let known = self.retiring.iter().any(|old| old.key.config == key.config);
            if !known && !in_fresh(key) {
                report.retired.push(key.config.config_id());
                self.retiring.push(Retiring {
                    key: EchKey {
                        retry: false,
                        ..key.clone()
                    },
                    until: now + self.grace,
                });
            }
        }
        self.retiring.retain(|old| {
            let alive = old.until > now;
            if !alive {
                report.expired.push(old.key.config.config_id());
            }
            alive
        });

        let mut keys = fresh.keys;
        keys.extend(self.retiring.iter().map(|old| old.key.clone()));
        let unchanged = keys.len() == previous.keys().len()
            && keys
                .iter()
                .zip(previous.keys())
                .all(|(new, old)| new.config == old.config && new.retry == old.retry);
        if unchanged {
            return Ok(report);
        }

        let keys = Arc::new(EchKeys::new(keys)?);
        *store
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::clone(&keys);
        log::debug!(
            "ECH keys reloaded: {} current, {} retiring",
            keys.len() - self.retiring.len(),
            self.retiring.len()
        );
        report.keys = keys;
        report.changed = true;
        Ok(report)
    }
}
