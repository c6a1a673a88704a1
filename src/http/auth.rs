//! Bearer tokens with roles. Tokens are configured in a JSON file and kept
//! only as SHA-256 hashes; a request's token is hashed and looked up.
//!
//! Roles: `city_office` (市公管局: every rule set, the decision log),
//! `bureau` (a sector bureau: only rule sets of its own sector), `evaluator`
//! (bid-evaluation systems: evaluate and read), `intake` (the provincial
//! platform: push records). Without a token only the public routes answer
//! (disclosure list, health, metrics, the OpenAPI document).
//!
//! The staff console authenticates with a session cookie instead of the header: the
//! session layer (`http::console::session_layer`) checks the cookie and, for anything but
//! GET and HEAD, the session's CSRF token (form field `_csrf` or header `X-CSRF-Token`), then
//! hands the request the same [`Caller`] a bearer token would give, so console pages and
//! script calls are authorised by exactly the code of the API routes.

use super::AppState;
use super::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 市公管局: all rule sets, review, decision log.
    CityOffice,
    /// A sector bureau: its own sector's rule sets.
    Bureau,
    /// A bid-evaluation system: evaluate and read.
    Evaluator,
    /// The provincial credit platform: record intake.
    Intake,
}

impl Role {
    /// The role's code, as in the token file: `city_office`, `bureau`, …
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::CityOffice => "city_office",
            Role::Bureau => "bureau",
            Role::Evaluator => "evaluator",
            Role::Intake => "intake",
        }
    }
}

/// One configured token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Who holds it (for the log).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// For `bureau`: the sector, as in rule-set headers (e.g. `水务`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// Lower-case hex SHA-256 of the token.
    pub sha256: String,
}

/// The token file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFile {
    /// The tokens.
    pub tokens: Vec<TokenEntry>,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Holder's name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Sector (bureaus).
    pub sector: Option<String>,
}

/// Tokens by hash.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    by_hash: HashMap<String, TokenEntry>,
}

/// Hex SHA-256 of a token.
pub fn hash_token(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(2 * digest.len());
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0xF)]));
    }
    hex
}

impl Tokens {
    /// Builds the table; refuses a bureau without a sector and duplicate hashes.
    pub fn new(file: TokenFile) -> Result<Tokens, String> {
        let mut by_hash = HashMap::new();
        for entry in file.tokens {
            if entry.role == Role::Bureau && entry.sector.is_none() {
                return Err(format!(
                    "token `{}` has role bureau but no sector",
                    entry.name
                ));
            }
            let hash = entry.sha256.to_ascii_lowercase();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "token `{}`: sha256 must be 64 hex characters",
                    entry.name
                ));
            }
            if by_hash.insert(hash, entry.clone()).is_some() {
                return Err(format!(
                    "token `{}` has the same hash as another token",
                    entry.name
                ));
            }
        }
        Ok(Tokens { by_hash })
    }

    /// Reads a token file.
    pub fn load(path: &Path) -> Result<Tokens, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let file: TokenFile = serde_json::from_str(&text)
            .map_err(|e| format!("`{}` is not a valid token file: {e}", path.display()))?;
        Tokens::new(file)
    }

    /// The caller behind the request's bearer token, if any. A malformed or
    /// unknown token is an error (401), not an anonymous call.
    pub fn caller(&self, headers: &HeaderMap) -> Result<Option<Caller>, ApiError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Ok(None);
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <token>`"))?;
        self.by_hash(&hash_token(token))
            .map(Some)
            .ok_or_else(|| unauthorized("the token is not valid"))
    }

    /// The caller whose token has SHA-256 `hash` (a session's token), if still configured.
    pub fn by_hash(&self, hash: &str) -> Option<Caller> {
        self.by_hash.get(hash).map(|entry| Caller {
            name: entry.name.clone(),
            role: entry.role,
            sector: entry.sector.clone(),
        })
    }

    /// The configured tokens, sorted by role, sector and name.
    pub fn entries(&self) -> Vec<TokenEntry> {
        let mut entries: Vec<TokenEntry> = self.by_hash.values().cloned().collect();
        entries.sort_by(|a, b| {
            (a.role.as_str(), &a.sector, &a.name).cmp(&(b.role.as_str(), &b.sector, &b.name))
        });
        entries
    }
}

/// An authenticated route's first extractor: the token is checked (401 without a valid
/// one) before anything else of the request, its body included, is read. A console
/// session's caller was put into the request's extensions by the session layer.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let caller = state
            .tokens
            .current()
            .caller(&parts.headers)?
            .ok_or_else(|| unauthorized("this route needs a bearer token"))?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// 401.
pub fn unauthorized(detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
}

/// 403.
pub fn forbidden(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
}

impl Caller {
    /// Requires one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(forbidden(format!(
                "this needs one of the roles {roles:?}; the token has {:?}",
                self.role
            )))
        }
    }

    /// The caller as recorded in a draft's history.
    pub fn actor(&self) -> crate::store::Actor {
        crate::store::Actor {
            name: self.name.clone(),
            role: self.role.as_str().to_owned(),
            sector: self.sector.clone(),
        }
    }

    /// May this caller change a rule set of `sector`?
    pub fn may_edit_sector(&self, sector: Option<&str>) -> Result<(), ApiError> {
        match self.role {
            Role::CityOffice => Ok(()),
            Role::Bureau if self.sector.as_deref() == sector && sector.is_some() => Ok(()),
            Role::Bureau => Err(forbidden(format!(
                "a bureau of sector `{}` may only change its own sector's rule sets (this one is `{}`)",
                self.sector.as_deref().unwrap_or(""),
                sector.unwrap_or("none")
            ))),
            _ => Err(forbidden(
                "only the city office and sector bureaus may change rule sets",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn tokens() -> Tokens {
        Tokens::new(TokenFile {
            tokens: vec![
                TokenEntry {
                    name: "水务局".into(),
                    role: Role::Bureau,
                    sector: Some("水务".into()),
                    sha256: hash_token("water-secret"),
                },
                TokenEntry {
                    name: "评标系统".into(),
                    role: Role::Evaluator,
                    sector: None,
                    sha256: hash_token("eval-secret"),
                },
            ],
        })
        .expect("valid")
    }

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("ascii"),
        );
        h
    }

    #[test]
    fn known_tokens_become_callers_and_unknown_ones_are_refused() {
        let t = tokens();
        let caller = t
            .caller(&headers("Bearer water-secret"))
            .expect("valid")
            .expect("caller");
        assert_eq!(caller.role, Role::Bureau);
        assert!(t.caller(&HeaderMap::new()).expect("anonymous").is_none());
        assert_eq!(
            t.caller(&headers("Bearer nope")).expect_err("bad").status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            t.caller(&headers("Basic abc")).expect_err("bad").status,
            StatusCode::UNAUTHORIZED
        );
    }

    #[test]
    fn bureaus_edit_only_their_own_sector() {
        let t = tokens();
        let water = t
            .caller(&headers("Bearer water-secret"))
            .expect("ok")
            .expect("caller");
        assert!(water.may_edit_sector(Some("水务")).is_ok());
        assert_eq!(
            water
                .may_edit_sector(Some("交通运输"))
                .expect_err("other sector")
                .status,
            StatusCode::FORBIDDEN
        );
        let evaluator = t
            .caller(&headers("Bearer eval-secret"))
            .expect("ok")
            .expect("caller");
        assert!(evaluator.may_edit_sector(Some("水务")).is_err());
    }

    #[test]
    fn a_bureau_without_a_sector_is_a_configuration_error() {
        let file = TokenFile {
            tokens: vec![TokenEntry {
                name: "x".into(),
                role: Role::Bureau,
                sector: None,
                sha256: hash_token("t"),
            }],
        };
        assert!(Tokens::new(file).is_err());
    }
}
