//! list-users and list-domain-users (§9.2): who sees whom, answered from the `by-domain` and
//! `by-email` indexes and the username reservation, never a scan.

use crate::app::App;
use crate::auth::{Caller, Scope, authorize, require};
use crate::domain::{Role, Username};
use crate::error::ApiError;
use crate::http::{Ctx, Reply};
use crate::policy;
use crate::services::lockout;
use crate::store::UserRec;
use crate::wire::responses::{UserResponse, UserView, UsersResponse};
use lambda_http::http::StatusCode;

const NO_SUCH_USER: ApiError = ApiError::NotFound("User not found.");

/// Which users a caller may see in a listing (§9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sight {
    /// admin, service-admin: anyone under rule A, found by name or email only.
    Rackspace,
    /// user-admin: every user of its domain.
    Domain,
    /// user-manage: the `identity:default` users of its domain.
    DomainSubUsers,
    /// Anyone else: itself.
    SelfOnly,
}

impl Sight {
    fn of(caller: &UserRec) -> Self {
        let has = |r| caller.roles.contains(&r);
        if policy::is_rackspace(&caller.subject()) {
            Self::Rackspace
        } else if caller.domain_id.is_some() && has(Role::UserAdmin) {
            Self::Domain
        } else if caller.domain_id.is_some() && has(Role::UserManage) {
            Self::DomainSubUsers
        } else {
            Self::SelfOnly
        }
    }

    /// May `caller` (of this sight) see `target`? Never another domain's users for a
    /// domain-bound caller.
    fn sees(self, caller: &UserRec, target: &UserRec) -> bool {
        let same_domain = caller.domain_id.is_some() && caller.domain_id == target.domain_id;
        match self {
            Self::Rackspace => policy::can_manage(&caller.subject(), &target.subject()),
            Self::Domain => same_domain,
            Self::DomainSubUsers => {
                same_domain
                    && target.roles.contains(&Role::Default)
                    && !target.roles.contains(&Role::UserAdmin)
            }
            Self::SelfOnly => caller.id == target.id,
        }
    }
}

fn view(app: &App, u: &UserRec) -> UserView {
    UserView::new(u, lockout::is_locked(app, u))
}

fn list(app: &App, caller: &Caller, sight: Sight, users: &[UserRec]) -> Reply {
    let users = users
        .iter()
        .filter(|u| sight.sees(&caller.user, u))
        .map(|u| view(app, u))
        .collect();
    Reply::body(StatusCode::OK, &UsersResponse { users })
}

/// `GET /v2.0/users`, optionally `?name=` or `?email=`.
///
/// `?name=` answers `{"user": …}` (404 when no user of that name is visible); otherwise
/// `{"users": […]}`. admin and service-admin must give a name or an email.
///
/// # Errors
/// 400, 401, 403, 404, 503.
pub async fn list_users(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, _) = authorize(app, &ctx, None, Scope::FullOnly).await?;
    let sight = Sight::of(&caller.user);
    let name = ctx.query_param("name").map(str::trim);
    let email = ctx.query_param("email").map(str::trim);
    match (name, email) {
        (Some(_), Some(_)) => Err(ApiError::BadRequest(
            "Give either the name or the email query parameter, not both.",
        )),
        (Some(name), None) => {
            // A name no user can hold names nobody.
            let Ok(name) = Username::parse(name) else {
                return Err(NO_SUCH_USER);
            };
            let user = if caller.user.username.eq_ignore_ascii_case(name.as_str()) {
                Some(caller.user.clone())
            } else if sight == Sight::SelfOnly {
                None
            } else {
                app.store.find_user_by_name(&name.key()).await?
            };
            let user = user
                .filter(|u| sight.sees(&caller.user, u))
                .ok_or(NO_SUCH_USER)?;
            let user = view(app, &user);
            Ok(Reply::body(StatusCode::OK, &UserResponse { user }))
        }
        (None, Some(email)) => {
            let users = match sight {
                Sight::SelfOnly => vec![caller.user.clone()]
                    .into_iter()
                    .filter(|u| u.email.eq_ignore_ascii_case(email))
                    .collect(),
                _ => app.store.find_users_by_email(email).await?,
            };
            Ok(list(app, &caller, sight, &users))
        }
        (None, None) => {
            let users = match (sight, caller.user.domain_id.as_deref()) {
                (Sight::Rackspace, _) => {
                    return Err(ApiError::BadRequest(
                        "The name or email query parameter is required.",
                    ));
                }
                (Sight::Domain | Sight::DomainSubUsers, Some(domain)) => {
                    app.store.list_domain_users(domain).await?
                }
                _ => vec![caller.user.clone()],
            };
            Ok(list(app, &caller, sight, &users))
        }
    }
}

/// `GET /v2.0/RAX-AUTH/domains/{domainId}/users`: the users of one domain, for admin and
/// service-admin, and for that domain's user-admin (all) and user-manage (its sub-users).
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn list_domain_users(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, _) = authorize(app, &ctx, None, Scope::FullOnly).await?;
    let domain_id = ctx.param("domainId");
    let sight = Sight::of(&caller.user);
    let own = caller.user.domain_id.as_deref() == Some(domain_id)
        && matches!(sight, Sight::Domain | Sight::DomainSubUsers);
    if !own {
        // The caller's own domain exists; any other is looked up first (404 before 403).
        app.store
            .get_domain(domain_id)
            .await?
            .ok_or(ApiError::NotFound("Domain not found."))?;
        require(sight == Sight::Rackspace)?;
    }
    let users = app.store.list_domain_users(domain_id).await?;
    Ok(list(app, &caller, sight, &users))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, domain: Option<&str>, roles: &[Role]) -> UserRec {
        UserRec {
            id: id.into(),
            domain_id: domain.map(str::to_string),
            roles: roles.to_vec(),
            ..UserRec::default()
        }
    }

    #[test]
    fn each_role_sees_what_the_contract_says() {
        let sa = user("sa", None, &[Role::ServiceAdmin]);
        let ad = user("ad", None, &[Role::Admin]);
        let ua = user("ua", Some("d1"), &[Role::UserAdmin]);
        let um = user("um", Some("d1"), &[Role::UserManage, Role::Default]);
        let sub = user("sub", Some("d1"), &[Role::Default]);
        let other = user("other", Some("d2"), &[Role::Default]);
        let other_ua = user("oua", Some("d2"), &[Role::UserAdmin]);

        assert_eq!(Sight::of(&sa), Sight::Rackspace);
        assert_eq!(Sight::of(&ad), Sight::Rackspace);
        assert_eq!(Sight::of(&ua), Sight::Domain);
        assert_eq!(Sight::of(&um), Sight::DomainSubUsers);
        assert_eq!(Sight::of(&sub), Sight::SelfOnly);

        let sees = |c: &UserRec, t: &UserRec| Sight::of(c).sees(c, t);
        assert!(sees(&ua, &ua) && sees(&ua, &um) && sees(&ua, &sub));
        assert!(!sees(&ua, &other) && !sees(&ua, &other_ua) && !sees(&ua, &ad));
        assert!(sees(&um, &um) && sees(&um, &sub));
        assert!(!sees(&um, &ua) && !sees(&um, &other));
        assert!(sees(&sub, &sub) && !sees(&sub, &um) && !sees(&sub, &ua));
        assert!(sees(&ad, &ua) && sees(&ad, &other) && !sees(&ad, &sa));
        assert!(sees(&sa, &ad) && sees(&sa, &other_ua));
    }
}
