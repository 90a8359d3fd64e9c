//! The image decoder over HTTP, so that a client can browse what the
//! slideshow shows and load the decoder directly (the drill does):
//!
//! - `GET /api/images` — the source's list: `{source, names, error}`;
//! - `GET /api/images/{index}?size=WxH&fit=contain|cover|stretch&format=jpeg|png`
//!   — the source's image `index` (modulo the count) decoded, prescaled
//!   through the actor's cache and encoded; `X-Image-Name`,
//!   `X-Image-Index`, `X-Decode-Ms` and `X-Cache: hit|miss` say what it was.
//!
//! A bad size or fit is `400` naming it; an image the decoder cannot read
//! is `422` naming the image, as is a frame larger than a child's
//! shared-memory slot (sized from the actor's `size`); a decoder that is restarting or late is `503`
//! with `Retry-After`.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use warden_image::actor::{ImageDecode, ImageMsg, ImageReply, Scale};
use warden_kernel::{ActorRef, CallError};

use crate::encode;

/// How long a request waits for the decoder (a cold decode of a large
/// image on a loaded machine, with room to spare).
const DECODE_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest prescale a request may ask for (per side): 64 MiB of RGBA
/// at most, whoever asks (reading is open).
const MAX_SIDE: u32 = 4096;

/// The decoder a request reaches.
#[derive(Debug)]
pub struct ImagesApi {
    actor: ActorRef<ImageDecode>,
}

impl ImagesApi {
    /// Serve `actor`'s images.
    pub fn new(actor: ActorRef<ImageDecode>) -> Self {
        ImagesApi { actor }
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.insert_header(("Retry-After", "1"));
    }
    response.json(json!({ "error": message.into() }))
}

/// A call's failure as an HTTP answer: what the decoder refused or failed
/// on is about the image (the request was checked before the call).
fn failed(err: CallError) -> HttpResponse {
    match err {
        CallError::Rejected { reason, .. } | CallError::Failed { reason, .. } => {
            error(StatusCode::UNPROCESSABLE_ENTITY, reason)
        }
        other => error(StatusCode::SERVICE_UNAVAILABLE, other.to_string()),
    }
}

#[utoipa::path(get, path = "/api/images", tag = "images",
    responses((status = 200, description = "the decoder's source and its images in order: `{source, names, error}` (`error`: what went wrong with the source last time; the last good list stays)", body = serde_json::Value),
        (status = 404, description = "the config names no image_decode actor", body = serde_json::Value),
        (status = 503, description = "the decoder is restarting or did not answer in time", body = serde_json::Value)))]
pub(crate) async fn list(api: web::Data<ImagesApi>) -> HttpResponse {
    match api.actor.call_timeout(ImageMsg::List, DECODE_TIMEOUT).await {
        Ok(ImageReply::List(list)) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(json!({"source": list.source, "names": list.names, "error": list.error})),
        Ok(other) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the decoder answered List with {other:?}"),
        ),
        Err(err) => failed(err),
    }
}

/// The fits `fit=` names.
#[derive(Clone, Copy, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Fit {
    /// Fit inside, letterboxed.
    Contain,
    /// Fill, cropped.
    Cover,
    /// Fill, distorted.
    Stretch,
}

/// The encodings `format=` names.
#[derive(Clone, Copy, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    /// JPEG at quality 85.
    #[default]
    Jpeg,
    /// Lossless PNG.
    Png,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageQuery {
    size: Option<String>,
    fit: Option<Fit>,
    #[serde(default)]
    format: Format,
}

/// `WxH`, each side 1..=4096.
fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("size={text:?} is not WxH with each side 1..={MAX_SIDE}");
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    let side = |s: &str| s.parse::<u32>().ok().filter(|n| (1..=MAX_SIDE).contains(n));
    Ok((side(w).ok_or_else(bad)?, side(h).ok_or_else(bad)?))
}

#[utoipa::path(get, path = "/api/images/{index}", tag = "images",
    params(("index" = i64, Path, minimum = 0, description = "position in the source's list (taken modulo the count)"),
        ("size" = Option<String>, Query, pattern = "^([1-9][0-9]{0,2}|[1-3][0-9]{3}|40[0-8][0-9]|409[0-6])[xX]([1-9][0-9]{0,2}|[1-3][0-9]{3}|40[0-8][0-9]|409[0-6])$", description = "prescale to WxH, each side 1..=4096 (default: the actor's `size`)"),
        ("fit" = Option<Fit>, Query, description = "`contain`, `cover` or `stretch` (default: the actor's `fit`)"),
        ("format" = Option<Format>, Query, description = "`jpeg` (default) or `png`")),
    responses((status = 200, description = "the image, decoded, prescaled and encoded (`format`)", content(
            (Vec<u8> = "image/jpeg"),
            (Vec<u8> = "image/png"))),
        (status = 400, description = "a bad index, size, fit or format, named", body = serde_json::Value),
        (status = 404, description = "the config names no image_decode actor", body = serde_json::Value),
        (status = 422, description = "the source has no images, this one cannot be decoded (named), or the frame asked for is larger than the child decoder's shared-memory slot (raise `shm_slot_bytes`)", body = serde_json::Value),
        (status = 503, description = "the decoder is restarting or did not answer in time", body = serde_json::Value)))]
pub(crate) async fn image(
    api: web::Data<ImagesApi>,
    index: Result<web::Path<i64>, actix_web::Error>,
    query: Result<web::Query<ImageQuery>, actix_web::Error>,
) -> HttpResponse {
    let index = match index.map(|i| u64::try_from(i.into_inner())) {
        Ok(Ok(index)) => index,
        Ok(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "the index must be a non-negative integer",
            );
        }
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the index must be a non-negative integer: {err}"),
            );
        }
    };
    let query = match query {
        Ok(query) => query.into_inner(),
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("give ?size=WxH&fit=contain|cover|stretch&format=jpeg|png: {err}"),
            );
        }
    };
    let size = match query.size.as_deref().map(parse_size).transpose() {
        Ok(size) => size,
        Err(why) => return error(StatusCode::BAD_REQUEST, why),
    };

    let msg = ImageMsg::Nth {
        index,
        scale: Scale {
            size,
            fit: query.fit.map(|fit| {
                match fit {
                    Fit::Contain => "contain",
                    Fit::Cover => "cover",
                    Fit::Stretch => "stretch",
                }
                .to_string()
            }),
        },
    };
    let frame = match api.actor.call_timeout(msg, DECODE_TIMEOUT).await {
        Ok(ImageReply::Image(frame)) => frame,
        Ok(other) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the decoder answered Nth with {other:?}"),
            );
        }
        Err(err) => return failed(err),
    };
    let format = query.format;
    let (name, at, decode_ms, cached) = (
        frame.name.clone(),
        frame.index.unwrap_or(index),
        frame.decode_ms,
        frame.cached,
    );
    let encoded = web::block(move || match format {
        Format::Jpeg => encode::jpeg(frame.rgba.as_ref(), frame.width, frame.height, 85),
        Format::Png => encode::png(frame.rgba.as_ref(), frame.width, frame.height),
    })
    .await;
    match encoded {
        Ok(Ok(bytes)) => HttpResponse::Ok()
            .content_type(match format {
                Format::Jpeg => "image/jpeg",
                Format::Png => "image/png",
            })
            .insert_header(("X-Image-Name", header_safe(&name)))
            .insert_header(("X-Image-Index", at.to_string()))
            .insert_header(("X-Decode-Ms", format!("{decode_ms:.3}")))
            .insert_header(("X-Cache", if cached { "hit" } else { "miss" }))
            .body(bytes),
        Ok(Err(err)) => error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
        Err(err) => error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
    }
}

/// A name as a header value: visible ASCII kept, anything else escaped.
fn header_safe(name: &str) -> String {
    name.chars()
        .flat_map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                vec![c]
            } else {
                c.escape_unicode().collect()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_within_bounds_and_name_the_mistake() {
        assert_eq!(parse_size("640x360"), Ok((640, 360)));
        assert_eq!(parse_size("1X1"), Ok((1, 1)));
        for bad in [
            "",
            "640",
            "0x10",
            "10x0",
            "9000x10",
            "axb",
            "-1x5",
            "640x360x1",
        ] {
            let err = parse_size(bad).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn names_become_header_values() {
        assert_eq!(header_safe("sample:03 sunset.jpg"), "sample:03 sunset.jpg");
        assert_eq!(header_safe("é\n"), "\\u{e9}\\u{a}");
    }
}
