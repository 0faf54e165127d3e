//! `GET /console`, `GET /console/{asset}`: the control panel (§9.1), files compiled in.
use lambda_http::{Error, Request, run, service_fn};
use shared::ops::console::{Asset, Site};

include!(concat!(env!("OUT_DIR"), "/site.rs"));

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    run(service_fn(|req: Request| async move {
        Ok::<_, Error>(shared::ops::console::handle(&req, &SITE))
    }))
    .await
}
