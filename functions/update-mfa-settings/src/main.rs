//! `PUT /v2.0/users/{userId}/RAX-AUTH/multi-factor`
use lambda_http::{Error, run, service_fn};
use shared::{App, app::Needs, ops};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = App::init("update-mfa-settings", Needs::default()).await?;
    run(service_fn(|req| {
        app.serve(req, ops::settings::update_settings)
    }))
    .await
}
