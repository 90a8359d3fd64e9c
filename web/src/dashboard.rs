//! The live dashboard at `GET /`: one page and its two assets, embedded in
//! the binary at compile time (no CDN, no build step, works offline). The
//! page reads everything through the server's own interfaces — the SSE topic
//! stream, `/ws`, the preview stream and the admin API — so it has no
//! privileges of its own: the admin token the operator types is kept in the
//! tab and sent as a Bearer header, as any client would.
//!
//! Every answer carries a strict Content-Security-Policy: scripts and styles
//! only from this server (no inline script, no `eval`), connections only to
//! this server, and no framing by another site.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

/// The page.
pub const INDEX_HTML: &str = include_str!("../assets/index.html");
/// Its script.
pub const DASHBOARD_JS: &str = include_str!("../assets/dashboard.js");
/// Its style sheet.
pub const DASHBOARD_CSS: &str = include_str!("../assets/dashboard.css");
/// Its icon.
pub const FAVICON_SVG: &str = include_str!("../assets/favicon.svg");

/// The policy for a page served to `host` (the request's `Host`).
pub fn content_security_policy(host: Option<&str>) -> String {
    // A Host with anything but host and port characters is not echoed.
    let host = host.filter(|h| {
        !h.is_empty()
            && h.len() <= 255
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    });
    let sockets = host.map_or(String::new(), |h| format!(" ws://{h} wss://{h}"));
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'{sockets}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

fn hardened(
    mut response: actix_web::HttpResponseBuilder,
    req: &HttpRequest,
) -> actix_web::HttpResponseBuilder {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    response
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            content_security_policy(host),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    response
}

/// `GET /`.
#[utoipa::path(get, path = "/", tag = "dashboard",
    responses((status = 200, description = "the live dashboard (docs/ADMIN.md, \"The dashboard\")", content_type = "text/html", body = String)))]
pub async fn page(req: HttpRequest) -> HttpResponse {
    hardened(HttpResponse::Ok(), &req)
        .content_type("text/html; charset=utf-8")
        .body(INDEX_HTML)
}

/// `GET /assets/{file}`.
#[utoipa::path(get, path = "/assets/{file}", tag = "dashboard",
    params(("file" = String, Path, description = "dashboard.js, dashboard.css or favicon.svg")),
    responses((status = 200, description = "the asset", content_type = "text/javascript", body = String),
        (status = 404, description = "no such asset", body = serde_json::Value)))]
pub async fn asset(req: HttpRequest, file: web::Path<String>) -> HttpResponse {
    let (kind, body) = match file.as_str() {
        "dashboard.js" => ("text/javascript; charset=utf-8", DASHBOARD_JS),
        "dashboard.css" => ("text/css; charset=utf-8", DASHBOARD_CSS),
        "favicon.svg" => ("image/svg+xml", FAVICON_SVG),
        other => {
            return HttpResponse::NotFound().json(serde_json::json!({
                "error": format!("no asset {other:?}: there are dashboard.js, dashboard.css and favicon.svg")
            }));
        }
    };
    hardened(HttpResponse::Ok(), &req)
        .content_type(kind)
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_only_this_server_and_never_echoes_a_strange_host() {
        let policy = content_security_policy(Some("127.0.0.1:7878"));
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"));
        assert!(policy.contains("connect-src 'self' ws://127.0.0.1:7878 wss://127.0.0.1:7878;"));
        assert!(policy.contains("frame-ancestors 'none'"));
        let evil = content_security_policy(Some("x; script-src *"));
        assert!(!evil.contains('*'), "{evil}");
        assert!(evil.contains("connect-src 'self';"));
    }

    #[test]
    fn the_page_has_no_inline_script_and_stays_small() {
        for (name, text) in [("index.html", INDEX_HTML), ("dashboard.js", DASHBOARD_JS)] {
            assert!(!text.contains("eval("), "{name}");
        }
        // Every <script> has a src and no body; no inline handlers.
        for tag in INDEX_HTML.split("<script").skip(1) {
            assert!(
                tag.trim_start().starts_with("src="),
                "an inline script: {tag}"
            );
            assert!(tag.contains("></script>"), "a script with a body: {tag}");
        }
        assert!(!INDEX_HTML.contains(" onclick=") && !INDEX_HTML.contains(" style="));
        let total = INDEX_HTML.len() + DASHBOARD_JS.len() + DASHBOARD_CSS.len() + FAVICON_SVG.len();
        assert!(total <= 300 * 1024, "{total} bytes");
    }
}
