//! `PUT /v2.0/RAX-AUTH/domains/{domainId}/multi-factor`
use lambda_http::{Error, run, service_fn};
use shared::{App, app::Needs, ops};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = App::init("update-domain-enforcement", Needs::default()).await?;
    run(service_fn(|req| {
        app.serve(req, ops::domains::update_domain_enforcement)
    }))
    .await
}
