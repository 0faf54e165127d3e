//! `GET /v2.0/RAX-AUTH/domains/{domainId}/users`
use lambda_http::{Error, run, service_fn};
use shared::{App, app::Needs, ops};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = App::init("list-domain-users", Needs::default()).await?;
    run(service_fn(|req| {
        app.serve(req, ops::directory::list_domain_users)
    }))
    .await
}
