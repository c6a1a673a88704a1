//! Console sessions without server memory: a signed, expiring cookie.
//!
//! Signing in with a role token gives a cookie `sid.binding.expires.mac`: a random session
//! id, the token's binding (an HMAC under the session key of the token's SHA-256 — never the
//! token, nor its plain hash, which the token file and logs elsewhere could be matched
//! against), the expiry (Unix seconds) and an HMAC-SHA256 of the three under the service's
//! session key (a file in the data folder, so every `serve` process on that folder accepts
//! the same cookies). The caller behind a cookie is looked up in the token table on every
//! request, so a revoked or rotated token ends its sessions at once.
//!
//! Logging out records the session as revoked in the store until the cookie would have
//! expired anyway: in a list of (id, expiry) under one store cursor per hour of expiry
//! ([`revoked_key`], [`REVOKED_SLOTS`] of them, reused in turn), so a request reads one short
//! list, and each logout drops the entries whose sessions have expired ([`Revoked::add`]).
//! A logout changes its list by a compare-and-swap ([`revoke`]): two replicas logging out at
//! once both keep their entry.
//!
//! The CSRF token of a session is an HMAC of its id under the same key: pages put it in a
//! hidden `_csrf` field and a `<meta name="csrf-token">`; scripts send it as `X-CSRF-Token`.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "cr_session";

/// How long a session lasts after signing in (then sign in again).
pub const SESSION_LIFETIME_SECONDS: i64 = 8 * 3600;

/// The store cursor prefix of the lists of logged-out sessions (one per hour of expiry).
pub const REVOKED_PREFIX: &str = "console_sessions_revoked:";

/// How many hourly revocation lists there are: more than a session's lifetime in hours, so a
/// list is reused only once every session it held has expired.
pub const REVOKED_SLOTS: i64 = 24;

// A list is reused only after every session it held has expired.
const _: () = assert!(REVOKED_SLOTS * 3600 > SESSION_LIFETIME_SECONDS + 3600);

/// The store cursor holding the revocations of the sessions that expire in the same hour as
/// `expires`.
pub fn revoked_key(expires: DateTime<Utc>) -> String {
    let slot = expires
        .timestamp()
        .div_euclid(3600)
        .rem_euclid(REVOKED_SLOTS);
    format!("{REVOKED_PREFIX}{slot:02}")
}

/// A logged-out session, kept until it would have expired.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Revoked {
    /// The session id.
    pub id: String,
    /// When the session expires (Unix seconds).
    pub expires: i64,
}

impl Revoked {
    /// Reads a stored list (none stored: empty); `None` when the text is not such a list.
    pub fn list(text: Option<&str>) -> Option<Vec<Revoked>> {
        match text {
            None => Some(Vec::new()),
            Some(text) => serde_json::from_str(text).ok(),
        }
    }

    /// Whether `session` is in the list.
    pub fn contains(list: &[Revoked], session: &Session) -> bool {
        list.iter().any(|r| r.id == session.id)
    }

    /// The list with `session` added and every session expired at `now` dropped, as stored.
    pub fn add(list: Vec<Revoked>, session: &Session, now: DateTime<Utc>) -> String {
        let now = now.timestamp();
        let mut list: Vec<Revoked> = list
            .into_iter()
            .filter(|r| r.expires > now && r.id != session.id)
            .collect();
        list.push(Revoked {
            id: session.id.clone(),
            expires: session.expires.timestamp(),
        });
        serde_json::to_string(&list).unwrap_or_else(|_| "[]".to_owned())
    }
}

/// Records `session` as logged out in its revocation list ([`revoked_key`]), dropping the
/// sessions of that list that have expired at `now`: a compare-and-swap on the list's value
/// ([`crate::store::update_cursor`]), so that replicas logging sessions out at the same
/// instant never drop each other's entries. An unreadable list is replaced: its sessions
/// end within hours anyway.
pub fn revoke<C: crate::store::Cursors + ?Sized>(
    store: &C,
    session: &Session,
    now: DateTime<Utc>,
) -> Result<(), crate::store::StoreError> {
    let name = revoked_key(session.expires);
    crate::store::update_cursor(store, &name, |stored| {
        let list = Revoked::list(stored).unwrap_or_default();
        Some(Revoked::add(list, session, now))
    })
    .map(|_| ())
}

/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";

/// The header that carries the CSRF token of script calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Why a session key cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum SessionKeyError {
    /// The key file cannot be read or written.
    #[error("session key file `{path}`: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The key file does not hold 64 hex digits.
    #[error(
        "session key file `{0}` must hold 64 hex digits; delete it to have a new key made (every session then ends)"
    )]
    Malformed(String),
}

/// The secret that signs session cookies and derives CSRF tokens.
#[derive(Clone)]
pub struct SessionKey([u8; 32]);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

/// Fresh random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> std::io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xF)]));
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key` (32 bytes, shorter than the block).
fn hmac(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut inner_pad = [0x36u8; BLOCK];
    let mut outer_pad = [0x5cu8; BLOCK];
    for (i, byte) in key.iter().enumerate() {
        inner_pad[i] ^= byte;
        outer_pad[i] ^= byte;
    }
    let inner = Sha256::new()
        .chain_update(inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// Compares two byte strings in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A valid session: who, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The random session id (32 hex digits).
    pub id: String,
    /// The binding of the token signed in with ([`SessionKey::binding`], 64 hex digits).
    pub token: String,
    /// When it ends.
    pub expires: DateTime<Utc>,
}

impl SessionKey {
    /// A fresh random key.
    pub fn generate() -> std::io::Result<SessionKey> {
        random_bytes::<32>().map(SessionKey)
    }

    /// A key from its 32 bytes (tests: a fixed key).
    pub fn from_bytes(bytes: [u8; 32]) -> SessionKey {
        SessionKey(bytes)
    }

    /// Reads the key file, or writes a fresh key to it (mode 0600) when it does not exist.
    /// Processes starting at once on one folder end up with the same key: the file appears
    /// whole or not at all (written aside, then linked into place, which fails when another
    /// process linked first; its key is then read).
    pub fn load_or_create(path: &Path) -> Result<SessionKey, SessionKeyError> {
        let io = |source| SessionKeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = unhex(text.trim())
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or_else(|| SessionKeyError::Malformed(path.display().to_string()))?;
                Ok(SessionKey(bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SessionKey::generate().map_err(io)?;
                match write_new_private(path, &(hex(&key.0) + "\n")) {
                    Ok(()) => Ok(key),
                    // Another process made the file first: use its key.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        SessionKey::load_or_create(path)
                    }
                    Err(e) => Err(io(e)),
                }
            }
            Err(e) => Err(io(e)),
        }
    }

    fn mac(&self, message: &str) -> String {
        hex(&hmac(&self.0, message.as_bytes()))
    }

    /// What a session cookie carries for the token with SHA-256 `token_hash`: an HMAC of it
    /// under this key, so the cookie cannot be matched against the hash elsewhere.
    pub fn binding(&self, token_hash: &str) -> String {
        self.mac(&format!("token|{token_hash}"))
    }

    /// Whether `session` was signed in with the token of SHA-256 `token_hash`.
    pub fn binds(&self, session: &Session, token_hash: &str) -> bool {
        same(
            self.binding(token_hash).as_bytes(),
            session.token.as_bytes(),
        )
    }

    /// A new session for the token with hash `token_hash`, starting `now`: the cookie value.
    pub fn issue(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> std::io::Result<(Session, String)> {
        let session = Session {
            id: hex(&random_bytes::<16>()?),
            token: self.binding(token_hash),
            expires: now + chrono::Duration::seconds(SESSION_LIFETIME_SECONDS),
        };
        let cookie = self.cookie_value(&session);
        Ok((session, cookie))
    }

    fn cookie_value(&self, session: &Session) -> String {
        let body = format!(
            "{}.{}.{}",
            session.id,
            session.token,
            session.expires.timestamp()
        );
        let mac = self.mac(&format!("session|{body}"));
        format!("{body}.{mac}")
    }

    /// The session of a cookie value, when its signature is right and it has not expired
    /// at `now` (revocation is the caller's to check).
    pub fn verify(&self, cookie: &str, now: DateTime<Utc>) -> Option<Session> {
        let mut parts = cookie.split('.');
        let (id, token, expires, mac) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || id.len() != 32 || token.len() != 64 {
            return None;
        }
        let body = format!("{id}.{token}.{expires}");
        if !same(
            self.mac(&format!("session|{body}")).as_bytes(),
            mac.as_bytes(),
        ) {
            return None;
        }
        let expires = DateTime::from_timestamp(expires.parse().ok()?, 0)?;
        (now < expires).then(|| Session {
            id: id.to_owned(),
            token: token.to_owned(),
            expires,
        })
    }

    /// The CSRF token of a session.
    pub fn csrf_token(&self, session: &Session) -> String {
        self.mac(&format!("csrf|{}", session.id))
    }

    /// Whether `token` is the CSRF token of `session`.
    pub fn csrf_matches(&self, session: &Session, token: &str) -> bool {
        same(self.csrf_token(session).as_bytes(), token.trim().as_bytes())
    }
}

/// Creates `path` with `contents`, readable by this user only, whole or not at all: written
/// to a file of its own beside it (`create_new`), then hard-linked into place, which fails
/// with `AlreadyExists` when `path` exists.
fn write_new_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let aside = path.with_file_name(format!(".{name}.{}.new", hex(&random_bytes::<8>()?)));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&aside).and_then(|mut file| {
        file.write_all(contents.as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&aside, path));
    let _ = std::fs::remove_file(&aside);
    linked
}

/// The value of cookie `name` in `Cookie` header values.
pub fn cookie_from<'a>(headers: impl Iterator<Item = &'a str>, name: &str) -> Option<&'a str> {
    headers
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
}

/// The `Set-Cookie` value of a new session (HttpOnly, SameSite=Strict, `Secure` when the
/// console is served over TLS).
pub fn set_cookie(value: &str, session: &Session, secure: bool) -> String {
    format!(
        "{COOKIE_NAME}={value}; Path=/; Expires={}; Max-Age={SESSION_LIFETIME_SECONDS}; HttpOnly; SameSite=Strict{}",
        session.expires.format("%a, %d %b %Y %H:%M:%S GMT"),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE_NAME}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionKey {
        SessionKey::from_bytes([7; 32])
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_000_000, 0).expect("time")
    }

    #[test]
    fn hmac_matches_the_rfc_4231_vector() {
        // RFC 4231 test case 2 uses a 4-byte key; pad it to our 32-byte key form: HMAC pads
        // short keys with zeros, so the result is the same.
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            hex(&hmac(&k, b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_cookie_verifies_until_it_expires_and_not_after_tampering() {
        let (session, cookie) = key().issue(&"ab".repeat(32), now()).expect("random");
        assert_eq!(key().verify(&cookie, now()), Some(session.clone()));
        let later = now() + chrono::Duration::seconds(SESSION_LIFETIME_SECONDS);
        assert_eq!(key().verify(&cookie, later), None);
        let other = SessionKey::from_bytes([8; 32]);
        assert_eq!(other.verify(&cookie, now()), None);
        let forged = cookie.replacen(&session.token, &"cd".repeat(32), 1);
        assert_eq!(key().verify(&forged, now()), None);
        let longer = cookie.replacen(
            &session.expires.timestamp().to_string(),
            &(session.expires.timestamp() + 9999).to_string(),
            1,
        );
        assert_eq!(key().verify(&longer, now()), None);
        assert_eq!(key().verify("garbage", now()), None);
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let (a, _) = key().issue(&"ab".repeat(32), now()).expect("random");
        let (b, _) = key().issue(&"ab".repeat(32), now()).expect("random");
        let token = key().csrf_token(&a);
        assert!(key().csrf_matches(&a, &token));
        assert!(!key().csrf_matches(&b, &token));
        assert!(!key().csrf_matches(&a, ""));
    }

    #[test]
    fn the_cookie_carries_a_keyed_binding_not_the_token_hash() {
        let hash = "ab".repeat(32);
        let (session, cookie) = key().issue(&hash, now()).expect("random");
        assert!(!cookie.contains(&hash), "{cookie}");
        assert!(key().binds(&session, &hash));
        assert!(!key().binds(&session, &"cd".repeat(32)));
        let other = SessionKey::from_bytes([8; 32]);
        assert_ne!(other.binding(&hash), key().binding(&hash), "keyed");
    }

    #[test]
    fn revocations_are_kept_until_the_session_expires() {
        let (a, _) = key().issue(&"ab".repeat(32), now()).expect("random");
        let later = now() + chrono::Duration::seconds(600);
        let (b, _) = key().issue(&"ab".repeat(32), later).expect("random");
        assert_eq!(
            revoked_key(a.expires),
            revoked_key(a.expires + chrono::Duration::hours(REVOKED_SLOTS)),
            "slots are reused"
        );
        let stored = Revoked::add(Vec::new(), &a, now());
        let list = Revoked::list(Some(&stored)).expect("list");
        assert!(Revoked::contains(&list, &a) && !Revoked::contains(&list, &b));
        let stored = Revoked::add(list.clone(), &b, now());
        let list = Revoked::list(Some(&stored)).expect("list");
        assert!(Revoked::contains(&list, &a) && Revoked::contains(&list, &b));
        // Once `a` has expired, the next logout drops it.
        let stored = Revoked::add(list, &b, a.expires);
        let list = Revoked::list(Some(&stored)).expect("list");
        assert_eq!(list.len(), 1);
        assert!(!Revoked::contains(&list, &a) && Revoked::contains(&list, &b));
        assert_eq!(Revoked::list(None), Some(Vec::new()));
        assert_eq!(Revoked::list(Some("nonsense")), None);
    }

    #[test]
    fn processes_making_the_key_at_once_share_one() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("session.key");
        let keys: Vec<[u8; 32]> = std::thread::scope(|scope| {
            let started: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| SessionKey::load_or_create(&path).map(|k| k.0)))
                .collect();
            started
                .into_iter()
                .map(|t| {
                    t.join()
                        .expect("no panic")
                        .expect("a key, never a half-written file")
                })
                .collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]), "one key for all");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(
            left,
            vec![std::ffi::OsString::from("session.key")],
            "nothing left aside"
        );
    }

    #[test]
    fn the_key_file_is_made_once_and_then_reused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("session.key");
        let first = SessionKey::load_or_create(&path).expect("made");
        let second = SessionKey::load_or_create(&path).expect("read");
        assert_eq!(first.0, second.0);
        std::fs::write(&path, "nope").expect("write");
        assert!(matches!(
            SessionKey::load_or_create(&path),
            Err(SessionKeyError::Malformed(_))
        ));
    }

    #[test]
    fn cookies_are_found_among_others_and_set_strictly() {
        let found = cookie_from(["a=1; cr_session=xyz ; b=2"].into_iter(), COOKIE_NAME);
        assert_eq!(found, Some("xyz"));
        let (session, value) = key().issue(&"ab".repeat(32), now()).expect("random");
        let set = set_cookie(&value, &session, true);
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        assert!(set.ends_with("; Secure") && set.contains("Expires="));
        assert!(!set_cookie(&value, &session, false).contains("Secure"));
    }
}
