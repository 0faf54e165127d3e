//! The same binary must answer REST API (v1, stage in the path) and HTTP API (v2) events
//! alike: both fixtures parse to the same route, parameters and body, and the fallback answers
//! both with the contract's 404/405 shapes.

#![allow(clippy::expect_used, clippy::unwrap_used)]
use lambda_http::request::from_str;
use shared::http::Ctx;
use shared::wire::requests::VerifyRequest;

fn ctx(fixture: &str) -> Ctx {
    let req = from_str(fixture).expect("fixture parses as an API Gateway event");
    Ctx::from_request("verify-phone", &req, None).expect("routed to verify-phone")
}

#[test]
fn rest_v1_and_http_v2_events_route_the_same() {
    let v2 = ctx(include_str!("fixtures/apigw_v2_verify_phone.json"));
    let v1 = ctx(include_str!("fixtures/apigw_v1_verify_phone.json"));
    for c in [&v1, &v2] {
        assert_eq!(c.param("userId"), "u123");
        assert_eq!(c.param("phoneId"), "p456");
        assert_eq!(c.auth_token(), Some("t0k"));
        let body: VerifyRequest = c.body().expect("json body");
        let code = body
            .code
            .required("missing", "bad")
            .expect("verificationCode");
        assert_eq!(
            code.code.required("missing", "bad").ok().as_deref(),
            Some("123456")
        );
        assert!(
            c.base_url
                .starts_with("https://abc123.execute-api.us-east-1.amazonaws.com")
        );
    }
    assert_eq!(v1.path, v2.path);
}

#[test]
fn an_event_for_another_operation_is_not_served() {
    let req = from_str(include_str!("fixtures/apigw_v2_verify_phone.json")).unwrap();
    let err = Ctx::from_request("get-user", &req, None).unwrap_err();
    assert_eq!(err.status().as_u16(), 404);
}

#[test]
fn fallback_answers_both_shapes_with_contract_errors() {
    for (fixture, method) in [
        (
            include_str!("fixtures/apigw_v2_verify_phone.json"),
            "\"POST\"",
        ),
        (
            include_str!("fixtures/apigw_v1_verify_phone.json"),
            "\"POST\"",
        ),
    ] {
        let wrong = fixture.replace(method, "\"GET\"");
        let resp = shared::ops::fallback::handle(&from_str(&wrong).unwrap());
        assert_eq!(resp.status().as_u16(), 405);
        let body = match resp.body() {
            lambda_http::Body::Text(t) => t.clone(),
            _ => String::new(),
        };
        assert!(body.contains("\"badMethod\""), "{body}");

        let unknown = fixture.replace("/verify\"", "/nowhere\"");
        let resp = shared::ops::fallback::handle(&from_str(&unknown).unwrap());
        assert_eq!(resp.status().as_u16(), 404);
    }
}
