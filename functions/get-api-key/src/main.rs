//! `GET /v2.0/users/{userId}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials`
use lambda_http::{Error, run, service_fn};
use shared::{App, app::Needs, ops};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = App::init(
        "get-api-key",
        Needs {
            sms: false,
            seal: true,
        },
    )
    .await?;
    run(service_fn(|req| app.serve(req, ops::credentials::get))).await
}
