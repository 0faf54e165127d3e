//! `POST /v2.0/users/RAX-AUTH/change-pwd`
use lambda_http::{Error, run, service_fn};
use shared::{App, app::Needs, ops};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = App::init("change-password", Needs::default()).await?;
    run(service_fn(|req| {
        app.serve(req, ops::users::change_password)
    }))
    .await
}
