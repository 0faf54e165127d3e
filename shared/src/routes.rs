//! The route table: the single source of truth for method + path template -> operation.
//!
//! `template.yaml`'s events and the local `cargo lambda watch` router are checked against
//! it by a test, and every handler (and the fallback) matches incoming paths with it, so the
//! same binary works behind HTTP API (v2), REST API (v1, stage prefix) and the local router.

/// One route: HTTP method, path template with `{param}` segments, and the operation
/// (= workspace package = binary = SAM function directory) that serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Upper-case HTTP method.
    pub method: &'static str,
    /// Path template, e.g. `/v2.0/users/{userId}`.
    pub path: &'static str,
    /// Operation name, e.g. `get-user`.
    pub operation: &'static str,
}

macro_rules! route {
    ($m:literal, $p:literal, $op:literal) => {
        Route {
            method: $m,
            path: $p,
            operation: $op,
        }
    };
}

/// Every route of the API (contract §7, §8.5, §9.5).
pub const ROUTES: &[Route] = &[
    route!(
        "POST",
        "/v2.0/users/{userId}/RAX-AUTH/multi-factor/mobile-phones",
        "add-phone"
    ),
    route!(
        "POST",
        "/v2.0/users/{userId}/RAX-AUTH/multi-factor/mobile-phones/{phoneId}/verificationcode",
        "send-phone-code"
    ),
    route!(
        "POST",
        "/v2.0/users/{userId}/RAX-AUTH/multi-factor/mobile-phones/{phoneId}/verify",
        "verify-phone"
    ),
    route!(
        "GET",
        "/v2.0/users/{userId}/RAX-AUTH/multi-factor/mobile-phones/{phoneId}",
        "get-phone"
    ),
    route!(
        "GET",
        "/v2.0/users/{userId}/RAX-AUTH/multi-factor/mobile-phones",
        "list-phones"
    ),
    route!(
        "DELETE",
        "/v2.0/users/{userId}/RAX-AUTH/multi-factor/mobile-phones/{phoneId}",
        "delete-phone"
    ),
    route!(
        "DELETE",
        "/v2.0/users/{userId}/RAX-AUTH/multi-factor/mobile-phones",
        "delete-phone"
    ),
    route!(
        "POST",
        "/v2.0/users/{userId}/RAX-AUTH/multi-factor/otp-devices",
        "add-otp-device"
    ),
    route!(
        "POST",
        "/v2.0/users/{userId}/RAX-AUTH/multi-factor/otp-devices/{otpDeviceId}/verify",
        "verify-otp-device"
    ),
    route!(
        "GET",
        "/v2.0/users/{userId}/RAX-AUTH/multi-factor/otp-devices/{otpDeviceId}",
        "get-otp-device"
    ),
    route!(
        "GET",
        "/v2.0/users/{userId}/RAX-AUTH/multi-factor/otp-devices",
        "list-otp-devices"
    ),
    route!(
        "DELETE",
        "/v2.0/users/{userId}/RAX-AUTH/multi-factor/otp-devices/{otpDeviceId}",
        "delete-otp-device"
    ),
    route!(
        "PUT",
        "/v2.0/users/{userId}/RAX-AUTH/multi-factor",
        "update-mfa-settings"
    ),
    route!(
        "POST",
        "/v2.0/users/{userId}/RAX-AUTH/multi-factor/bypass-codes",
        "generate-bypass-codes"
    ),
    route!(
        "PUT",
        "/v2.0/RAX-AUTH/domains/{domainId}/multi-factor",
        "update-domain-enforcement"
    ),
    route!(
        "DELETE",
        "/v2.0/users/{userId}/RAX-AUTH/multi-factor",
        "delete-mfa"
    ),
    route!("POST", "/v2.0/tokens", "authenticate"),
    route!("POST", "/v2.0/users", "create-user"),
    // Before every `/v2.0/users/{userId}…` route: the literal path is never a user id.
    route!("POST", "/v2.0/users/RAX-AUTH/change-pwd", "change-password"),
    route!("GET", "/v2.0/users/{userId}", "get-user"),
    route!("GET", "/v2.0/users", "list-users"),
    route!(
        "GET",
        "/v2.0/RAX-AUTH/domains/{domainId}/users",
        "list-domain-users"
    ),
    route!("POST", "/v2.0/users/{userId}", "update-user"),
    route!("PUT", "/v2.0/users/{userId}", "update-user"),
    route!("DELETE", "/v2.0/users/{userId}", "delete-user"),
    route!("GET", "/v2.0/tokens/{tokenId}", "validate-token"),
    route!("DELETE", "/v2.0/tokens", "revoke-token"),
    route!("DELETE", "/v2.0/tokens/{tokenId}", "revoke-token"),
    route!("GET", "/v2.0/RAX-AUTH/domains/{domainId}", "get-domain"),
    route!(
        "PUT",
        "/v2.0/users/{userId}/roles/OS-KSADM/{roleId}",
        "add-role-to-user"
    ),
    route!(
        "GET",
        "/v2.0/users/{userId}/OS-KSADM/credentials",
        "list-credentials"
    ),
    route!(
        "GET",
        "/v2.0/users/{userId}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials",
        "get-api-key"
    ),
    route!(
        "POST",
        "/v2.0/users/{userId}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials/RAX-AUTH/reset",
        "reset-api-key"
    ),
    route!(
        "DELETE",
        "/v2.0/users/{userId}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials",
        "delete-api-key"
    ),
    route!("GET", "/console", "console"),
    route!("GET", "/console/{asset}", "console"),
];

/// Name of the fallback function that answers unrouted paths (404) and wrong methods (405).
pub const FALLBACK: &str = "fallback";

/// Result of matching a request against [`ROUTES`].
#[derive(Debug, PartialEq, Eq)]
pub enum Match<'a> {
    /// A route matched; path parameters in template order.
    Found(&'static Route, Vec<(&'static str, &'a str)>),
    /// The path is known but not with this method (405).
    WrongMethod,
    /// No route has this path (404).
    NotFound,
}

/// Strips anything before `/v2.0/` (a REST API stage prefix, for example) and a trailing slash.
pub fn normalize(path: &str) -> &str {
    let p = match path.find("/v2.0/") {
        Some(i) => path.get(i..).unwrap_or(path),
        None => path,
    };
    if p.len() > 1 {
        p.strip_suffix('/').unwrap_or(p)
    } else {
        p
    }
}

fn match_template<'a>(
    template: &'static str,
    path: &'a str,
) -> Option<Vec<(&'static str, &'a str)>> {
    let mut params = Vec::new();
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) => {
                if let Some(name) = ts.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                    if ps.is_empty() {
                        return None;
                    }
                    params.push((name, ps));
                } else if ts != ps {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// Matches `method` and `path` against the route table.
pub fn find<'a>(method: &str, path: &'a str) -> Match<'a> {
    let path = normalize(path);
    let mut known_path = false;
    for route in ROUTES {
        if let Some(params) = match_template(route.path, path) {
            if route.method.eq_ignore_ascii_case(method) {
                return Match::Found(route, params);
            }
            known_path = true;
        }
    }
    if known_path {
        Match::WrongMethod
    } else {
        Match::NotFound
    }
}

/// The distinct operations, in table order.
pub fn operations() -> Vec<&'static str> {
    let mut ops: Vec<&'static str> = Vec::new();
    for r in ROUTES {
        if !ops.contains(&r.operation) {
            ops.push(r.operation);
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_segments_win_over_parameters() {
        let m = find(
            "POST",
            "/v2.0/users/abc/RAX-AUTH/multi-factor/mobile-phones/p1/verify",
        );
        let Match::Found(route, params) = m else {
            panic!("no match")
        };
        assert_eq!(route.operation, "verify-phone");
        assert_eq!(params, vec![("userId", "abc"), ("phoneId", "p1")]);
    }

    #[test]
    fn stage_prefix_and_trailing_slash_are_ignored() {
        let Match::Found(route, _) = find("GET", "/prod/v2.0/users/abc/") else {
            panic!()
        };
        assert_eq!(route.operation, "get-user");
    }

    #[test]
    fn known_path_with_other_method_is_wrong_method() {
        assert_eq!(find("PUT", "/v2.0/tokens"), Match::WrongMethod);
        assert_eq!(find("GET", "/v2.0/nothing"), Match::NotFound);
        assert_eq!(
            find("GET", "/v2.0/users//RAX-AUTH/multi-factor"),
            Match::NotFound
        );
    }

    #[test]
    fn change_pwd_is_its_own_route_not_a_user_id() {
        let Match::Found(route, params) = find("POST", "/v2.0/users/RAX-AUTH/change-pwd") else {
            panic!("no match")
        };
        assert_eq!(route.operation, "change-password");
        assert!(params.is_empty());
        let Match::Found(route, _) = find("POST", "/prod/v2.0/users/RAX-AUTH/change-pwd/") else {
            panic!("no match")
        };
        assert_eq!(route.operation, "change-password");
        assert_eq!(
            find("GET", "/v2.0/users/RAX-AUTH/change-pwd"),
            Match::WrongMethod
        );
        assert_eq!(
            find("PUT", "/v2.0/users/RAX-AUTH/change-pwd"),
            Match::WrongMethod
        );
        // A user id is still a user id.
        let Match::Found(route, _) = find("POST", "/v2.0/users/RAX-AUTH") else {
            panic!("no match")
        };
        assert_eq!(route.operation, "update-user");
    }

    #[test]
    fn every_route_is_unique() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in ROUTES.iter().skip(i + 1) {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{a:?} duplicated"
                );
            }
        }
    }
}
