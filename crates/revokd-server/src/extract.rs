//! Extractors whose rejections are JSON in the API's shape: malformed or badly typed
//! JSON, unknown fields and bad query values → 400 `invalid_request`; a wrong content
//! type → 415; a body over the limit → 413.

use axum::extract::rejection::{BytesRejection, FormRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

fn too_large(e: &BytesRejection) -> bool {
    e.status() == StatusCode::PAYLOAD_TOO_LARGE
}

/// A JSON body.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        // No body at all (no content type, nothing sent): the body is missing, not of a
        // wrong type (API.md: a POST with no body needs no content type).
        let untyped = !req.headers().contains_key(axum::http::header::CONTENT_TYPE);
        if untyped && axum::body::HttpBody::is_end_stream(req.body()) {
            return Err(ApiError::invalid("a JSON body is required"));
        }
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be application/json",
            )),
            Err(JsonRejection::BytesRejection(b)) if too_large(&b) => Err(payload_too_large()),
            Err(e) => Err(ApiError::invalid(e.body_text())),
        }
    }
}

/// An optional JSON body: none at all (no content type, empty) is `None`.
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let has_type = req.headers().contains_key(axum::http::header::CONTENT_TYPE);
        let empty = req.headers().get(axum::http::header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() == b"0");
        if !has_type || empty {
            let bytes = axum::body::Bytes::from_request(req, state)
                .await
                .map_err(|e| if too_large(&e) { payload_too_large() } else { ApiError::invalid("unreadable body") })?;
            if bytes.is_empty() {
                return Ok(OptionalJson(None));
            }
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be application/json",
            ));
        }
        Json::<T>::from_request(req, state).await.map(|Json(v)| OptionalJson(Some(v)))
    }
}

/// A form body (`application/x-www-form-urlencoded`), answered in the OAuth shape.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        // A POST with no body needs no content type: it is an empty form.
        if !req.headers().contains_key(axum::http::header::CONTENT_TYPE) {
            let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
                if too_large(&e) { payload_too_large().oauth() } else { ApiError::invalid("unreadable body").oauth() }
            })?;
            if bytes.is_empty() {
                return serde_urlencoded_empty().map(Form);
            }
            return Err(ApiError::invalid("the body must be application/x-www-form-urlencoded").oauth());
        }
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(Form(v)),
            Err(FormRejection::InvalidFormContentType(_)) => {
                Err(ApiError::invalid("the body must be application/x-www-form-urlencoded").oauth())
            }
            Err(FormRejection::BytesRejection(b)) if too_large(&b) => Err(payload_too_large().oauth()),
            Err(e) => Err(ApiError::invalid(e.body_text()).oauth()),
        }
    }
}

fn serde_urlencoded_empty<T: DeserializeOwned>() -> Result<T, ApiError> {
    T::deserialize(serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(std::iter::empty::<(
        String,
        String,
    )>()))
    .map_err(|e| ApiError::invalid(e.to_string()).oauth())
}

/// A path parameter; a bad one (e.g. not UTF-8) is a JSON 400.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| ApiError::invalid(e.body_text()))
    }
}

/// A query string.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| ApiError::invalid(e.body_text()))
    }
}

impl<T: DeserializeOwned> Query<T> {
    /// The query string of `uri`, parsed.
    pub fn try_from_uri(uri: &axum::http::Uri) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::try_from_uri(uri)
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| ApiError::invalid(e.body_text()))
    }
}

/// 413 `payload_too_large`.
pub fn payload_too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large")
}
