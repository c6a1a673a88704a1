//! The language a client wants diagnostics in, from its `Accept-Language` header
//! (`zh` or `en`; Chinese when it names neither).

use crate::diagnostic::Lang;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

/// The preferred language of the request.
#[derive(Debug, Clone, Copy)]
pub struct AcceptLanguage(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for AcceptLanguage {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Ok(AcceptLanguage(Lang::from_accept_language(header)))
    }
}
