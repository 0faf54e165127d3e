//! The control panel's function (§9.1): the page and its hashed files on the API's origin,
//! with the page's security headers on every answer.

use crate::helpers::TestApi;
use reqwest::Method;

/// `console/<name>` references of the page (its scripts, style sheet and icon).
fn asset_refs(page: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for chunk in page.split("\"console/").skip(1) {
        if let Some(end) = chunk.find('"') {
            refs.push(chunk[..end].to_string());
        }
    }
    refs.sort();
    refs.dedup();
    refs
}

#[track_caller]
fn assert_page_headers(r: &crate::helpers::ApiResponse) {
    let csp = r.header("content-security-policy").unwrap_or_default();
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(
            csp.contains(part),
            "{}: CSP {csp:?} lacks {part}",
            r.request
        );
    }
    assert!(
        !csp.contains("unsafe"),
        "{}: CSP allows unsafe sources: {csp}",
        r.request
    );
    assert!(
        !csp.contains("http"),
        "{}: CSP names another origin: {csp}",
        r.request
    );
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{}",
        r.request
    );
    assert_eq!(
        r.header("referrer-policy"),
        Some("no-referrer"),
        "{}",
        r.request
    );
}

#[tokio::test]
async fn the_page_and_every_file_it_names_are_served_with_the_security_headers() {
    let api = TestApi::new();
    let page = api
        .raw(Method::GET, "/console", None, None, None, &[])
        .await;
    page.expect_status(200);
    assert!(
        page.header("content-type")
            .unwrap_or_default()
            .starts_with("text/html")
    );
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert_page_headers(&page);
    assert!(!page.text.contains("<script>"), "no inline script");
    assert!(!page.text.contains("style="), "no inline style");
    let refs = asset_refs(&page.text);
    assert!(refs.iter().any(|r| r.ends_with(".js")), "{refs:?}");
    assert!(refs.iter().any(|r| r.ends_with(".css")), "{refs:?}");
    for name in refs {
        // app.<12 hex>.js: the name changes with the contents, so it can be cached for a year.
        let parts: Vec<&str> = name.split('.').collect();
        assert_eq!(parts.len(), 3, "{name}");
        assert!(
            parts[1].len() == 12 && parts[1].bytes().all(|b| b.is_ascii_hexdigit()),
            "{name}"
        );
        let r = api
            .raw(
                Method::GET,
                &format!("/console/{name}"),
                None,
                None,
                None,
                &[],
            )
            .await;
        r.expect_status(200);
        assert!(
            r.header("cache-control")
                .unwrap_or_default()
                .contains("immutable"),
            "{name}"
        );
        assert_page_headers(&r);
        assert!(
            !r.text.contains("http://") && !r.text.contains("https://") || name.ends_with(".svg"),
            "{name} names another origin"
        );
    }
}

#[tokio::test]
async fn unknown_files_are_404_and_other_methods_405_in_the_contract_shape() {
    let api = TestApi::new();
    let r = api
        .raw(
            Method::GET,
            "/console/app.000000000000.js",
            None,
            None,
            None,
            &[],
        )
        .await;
    r.expect_error(404, "itemNotFound");
    assert_page_headers(&r);
    api.raw(
        Method::POST,
        "/console",
        None,
        Some("application/json"),
        Some(b"{}".to_vec()),
        &[],
    )
    .await
    .expect_error(405, "badMethod");
}
