//! Console sessions without server memory: a signed, expiring cookie.
//!
//! Signing in with a role token gives a cookie `sid.token_hash.expires.mac`: a random
//! session id, the SHA-256 of the token signed in with (never the token itself), the expiry
//! (Unix seconds) and an HMAC-SHA256 of the three under the service's session key (a file in
//! the data folder, so every `serve` process on that folder accepts the same cookies). The
//! caller behind a cookie is looked up in the token table on every request, so a revoked or
//! rotated token ends its sessions at once; logging out records the session id as revoked
//! in the store until the cookie would have expired anyway.
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

/// The store cursor prefix under which logged-out session ids are kept.
pub const REVOKED_PREFIX: &str = "console_session_revoked:";

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
    /// SHA-256 (hex) of the token signed in with.
    pub token_hash: String,
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
                write_new_private(path, &(hex(&key.0) + "\n")).map_err(io)?;
                // Another process may have made the file first: use whatever is there.
                SessionKey::load_or_create(path)
            }
            Err(e) => Err(io(e)),
        }
    }

    fn mac(&self, message: &str) -> String {
        hex(&hmac(&self.0, message.as_bytes()))
    }

    /// A new session for the token with hash `token_hash`, starting `now`: the cookie value.
    pub fn issue(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> std::io::Result<(Session, String)> {
        let session = Session {
            id: hex(&random_bytes::<16>()?),
            token_hash: token_hash.to_owned(),
            expires: now + chrono::Duration::seconds(SESSION_LIFETIME_SECONDS),
        };
        let cookie = self.cookie_value(&session);
        Ok((session, cookie))
    }

    fn cookie_value(&self, session: &Session) -> String {
        let body = format!(
            "{}.{}.{}",
            session.id,
            session.token_hash,
            session.expires.timestamp()
        );
        let mac = self.mac(&format!("session|{body}"));
        format!("{body}.{mac}")
    }

    /// The session of a cookie value, when its signature is right and it has not expired
    /// at `now` (revocation is the caller's to check).
    pub fn verify(&self, cookie: &str, now: DateTime<Utc>) -> Option<Session> {
        let mut parts = cookie.split('.');
        let (id, token_hash, expires, mac) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || id.len() != 32 || token_hash.len() != 64 {
            return None;
        }
        let body = format!("{id}.{token_hash}.{expires}");
        if !same(
            self.mac(&format!("session|{body}")).as_bytes(),
            mac.as_bytes(),
        ) {
            return None;
        }
        let expires = DateTime::from_timestamp(expires.parse().ok()?, 0)?;
        (now < expires).then(|| Session {
            id: id.to_owned(),
            token_hash: token_hash.to_owned(),
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

/// Creates `path` with `contents`, readable by this user only; fails when it exists.
fn write_new_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => file.write_all(contents.as_bytes()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
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
        let forged = cookie.replacen(&"ab".repeat(32), &"cd".repeat(32), 1);
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
