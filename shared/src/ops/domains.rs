//! get-domain (§2.17) and update-domain-enforcement (§2.14).

use crate::app::App;
use crate::auth::{Caller, Scope, authorize, require};
use crate::domain::{EnforcementLevel, Role};
use crate::error::ApiError;
use crate::http::{Ctx, Reply};
use crate::policy;
use crate::services::audit;
use crate::store::{DomainRec, LevelSet};
use crate::wire::requests::DomainEnforcementRequest;
use crate::wire::responses::{DomainResponse, DomainView};
use lambda_http::http::StatusCode;

const NO_DOMAIN: ApiError = ApiError::NotFound("Domain not found.");

/// The caller (no SETUP-MFA token) and the path's domain, in the contract's check order.
async fn caller_and_domain(app: &App, ctx: &Ctx) -> Result<(Caller, DomainRec), ApiError> {
    let (caller, _) = authorize(app, ctx, None, Scope::FullOnly).await?;
    let domain = app
        .store
        .get_domain(ctx.param("domainId"))
        .await?
        .ok_or(NO_DOMAIN)?;
    Ok((caller, domain))
}

/// `GET /v2.0/RAX-AUTH/domains/{domainId}`.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn get_domain(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, domain) = caller_and_domain(app, &ctx).await?;
    let own = caller.user.domain_id.as_deref() == Some(domain.id.as_str())
        && (caller.user.roles.contains(&Role::UserAdmin)
            || caller.user.roles.contains(&Role::UserManage));
    require(own || policy::is_rackspace(&caller.user.subject()))?;
    let domain = DomainView::from(&domain);
    Ok(Reply::body(StatusCode::OK, &DomainResponse { domain }))
}

/// `PUT /v2.0/RAX-AUTH/domains/{domainId}/multi-factor`.
///
/// # Errors
/// 400, 401, 403, 404, 415, 503.
pub async fn update_domain_enforcement(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, domain) = caller_and_domain(app, &ctx).await?;
    let c = caller.user.subject();
    let own_admin = caller.user.roles.contains(&Role::UserAdmin)
        && caller.user.domain_id.as_deref() == Some(domain.id.as_str());
    require(own_admin || policy::is_rackspace(&c))?;
    const NO_BODY: &str = "Request body must contain a 'RAX-AUTH:multiFactorDomain' object.";
    const BAD_LEVEL: ApiError = ApiError::BadRequest(
        "domainMultiFactorEnforcementLevel must be OPTIONAL, REQUIRED or RACKSPACE_MANDATED.",
    );
    let level = ctx
        .body::<DomainEnforcementRequest>()?
        .settings
        .required(NO_BODY, NO_BODY)?
        .level
        .optional(BAD_LEVEL.public_message())?
        .as_deref()
        .and_then(EnforcementLevel::parse_domain)
        .ok_or(BAD_LEVEL)?;
    if !caller.user.mfa_enabled {
        return Err(ApiError::Forbidden(
            "You must set up multi-factor authentication on your account before you can set multi-factor domain-level enforcement.",
        ));
    }
    // Compare-and-set against the level the check read (§9.3): when it changed meanwhile, the
    // domain is read again and the check made again.
    let mut domain = domain;
    for _ in 0..3 {
        let touches_mandated = level == EnforcementLevel::RackspaceMandated
            || domain.level == EnforcementLevel::RackspaceMandated;
        if touches_mandated && !policy::is_rackspace(&c) {
            return Err(ApiError::Forbidden(
                "Only Rackspace can set or change the RACKSPACE_MANDATED level. Open a support ticket.",
            ));
        }
        // Non-MFA tokens of the domain's requiring users go (§4.3), checked at validation.
        let revoke_at = level.domain_requires().then(|| app.now_ms());
        match app
            .store
            .set_domain_level(&domain.id, domain.level, level, revoke_at)
            .await?
        {
            LevelSet::Done => {
                let mut event = audit::Event::new("enforcement.domain", "success");
                event.actor = Some(&caller.user.id);
                event.domain = Some(&domain.id);
                event.factor = Some(level.as_str());
                event.emit(&ctx);
                return Ok(Reply::empty(StatusCode::NO_CONTENT));
            }
            LevelSet::NoDomain => return Err(NO_DOMAIN),
            LevelSet::Changed => {
                domain = app.store.get_domain(&domain.id).await?.ok_or(NO_DOMAIN)?;
            }
        }
    }
    Err(ApiError::Conflict(
        "The domain's enforcement level changed concurrently; retry.",
    ))
}
