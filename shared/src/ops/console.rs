//! `GET /console` and `GET /console/{asset}`: the control panel's static files (§9.1).
//!
//! The files are compiled into the `console` function (its `build.rs` names every asset by
//! its content hash and rewrites the page's references), so this module only picks the file
//! and adds the page's security headers. Nothing here touches AWS.

use crate::error::ApiError;
use crate::http::{Reply, respond};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};

/// The page's Content-Security-Policy: only this origin, no inline script or style, no
/// framing; `data:` images for the API's QR code.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One static file, named by its content hash (`app.3f2a1b0c9d8e.js`).
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// File name as requested, e.g. `app.3f2a1b0c9d8e.js`.
    pub name: &'static str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Contents.
    pub body: &'static str,
}

/// What the console function serves.
#[derive(Debug, Clone, Copy)]
pub struct Site {
    /// The page (`GET /console`), with its asset references already hashed.
    pub index: &'static str,
    /// Its static files.
    pub assets: &'static [Asset],
}

/// What a path asks for.
#[derive(Debug, PartialEq, Eq)]
enum Wanted<'a> {
    Page,
    Asset(&'a str),
}

/// `/console`, `/console/` (with any stage prefix) → the page; `/console/{name}` → an asset.
fn wanted(path: &str) -> Option<Wanted<'_>> {
    let path = path.strip_suffix('/').unwrap_or(path);
    if path == "/console" || path.ends_with("/console") {
        return Some(Wanted::Page);
    }
    let (dir, name) = path.rsplit_once('/')?;
    (dir == "/console" || dir.ends_with("/console")).then_some(Wanted::Asset(name))
}

/// Answers one request for the console's files.
pub fn handle(req: &Request, site: &Site) -> Response<Body> {
    let raw = req.raw_http_path();
    let path = if raw.is_empty() {
        req.uri().path()
    } else {
        raw
    };
    let found = match (req.method().as_str(), wanted(path)) {
        (_, None) => Err(ApiError::NotFound("Resource not found.")),
        ("GET", Some(Wanted::Page)) => Ok(("text/html; charset=utf-8", site.index, false)),
        ("GET", Some(Wanted::Asset(name))) => site
            .assets
            .iter()
            .find(|a| a.name == name)
            .map(|a| (a.content_type, a.body, true))
            .ok_or(ApiError::NotFound("Resource not found.")),
        _ => Err(ApiError::BadMethod),
    };
    let mut response = match found {
        Ok((content_type, body, immutable)) => {
            let cache = if immutable {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, content_type)
                .header(header::CACHE_CONTROL, cache)
                .body(Body::Text(body.to_owned()))
                .unwrap_or_else(|_| respond(Err::<Reply, _>(ApiError::BadMethod)))
        }
        Err(e) => respond(Err::<Reply, _>(e)),
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::Method;

    static SITE: Site = Site {
        index: "<!doctype html><script src=\"console/app.0123.js\"></script>",
        assets: &[Asset {
            name: "app.0123.js",
            content_type: "text/javascript; charset=utf-8",
            body: "console.log(1)",
        }],
    };

    fn get(method: Method, path: &str) -> Response<Body> {
        let req = lambda_http::http::Request::builder()
            .method(method)
            .uri(format!("https://example.com{path}"))
            .body(Body::Empty)
            .unwrap_or_default();
        handle(&req, &SITE)
    }

    fn header(r: &Response<Body>, name: header::HeaderName) -> &str {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[test]
    fn paths_name_the_page_or_an_asset() {
        assert_eq!(wanted("/console"), Some(Wanted::Page));
        assert_eq!(wanted("/console/"), Some(Wanted::Page));
        assert_eq!(wanted("/prod/console"), Some(Wanted::Page));
        assert_eq!(wanted("/console/a.js"), Some(Wanted::Asset("a.js")));
        assert_eq!(wanted("/prod/console/a.js"), Some(Wanted::Asset("a.js")));
        assert_eq!(wanted("/consoles/a.js"), None);
        assert_eq!(wanted("/console/x/a.js"), None);
        assert_eq!(wanted("/"), None);
    }

    #[test]
    fn the_page_is_never_cached_and_assets_for_a_year() {
        let page = get(Method::GET, "/console");
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(header(&page, header::CACHE_CONTROL), "no-cache");
        assert!(header(&page, header::CONTENT_TYPE).starts_with("text/html"));
        let asset = get(Method::GET, "/console/app.0123.js");
        assert_eq!(asset.status(), StatusCode::OK);
        assert!(header(&asset, header::CACHE_CONTROL).contains("immutable"));
        assert!(header(&asset, header::CONTENT_TYPE).starts_with("text/javascript"));
    }

    #[test]
    fn every_answer_carries_the_security_headers() {
        for r in [
            get(Method::GET, "/console"),
            get(Method::GET, "/console/app.0123.js"),
            get(Method::GET, "/console/missing.js"),
            get(Method::POST, "/console"),
        ] {
            let csp = header(&r, header::CONTENT_SECURITY_POLICY);
            assert!(csp.contains("default-src 'self'"), "{csp}");
            assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
            assert!(!csp.contains("unsafe"), "{csp}");
            assert_eq!(header(&r, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
            assert_eq!(header(&r, header::REFERRER_POLICY), "no-referrer");
        }
    }

    #[test]
    fn unknown_assets_and_other_methods_get_the_contract_errors() {
        let missing = get(Method::GET, "/console/app.9999.js");
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert!(header(&missing, header::CONTENT_TYPE).starts_with("application/json"));
        assert_eq!(
            get(Method::POST, "/console").status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }
}
