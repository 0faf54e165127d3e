//! Contract §9.3 (third hardening round) over the real binaries: step-up for MFA changes made
//! with an API key, and a front door that takes a burst of connections.

use crate::helpers::{ApiResponse, TestApi, TestUser};
use crate::mfa_helpers::{
    bypass_path, enable_otp_mfa, otp_device_path, otp_devices_path, put_mfa, token_of,
};
use reqwest::Method;
use serde_json::json;

const STEP_UP: &str = "Multi-factor authentication is required for this change";

fn key_path(user_id: &str) -> String {
    format!("/v2.0/users/{user_id}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials")
}

async fn api_key_token(api: &TestApi, user: &TestUser, mfa_token: &str) -> String {
    let r = api.get(mfa_token, &key_path(&user.id)).await;
    r.expect_status(200);
    let key = r.json["RAX-KSKEY:apiKeyCredentials"]["apiKey"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": user.username, "apiKey": key}}});
    let r = api
        .request(Method::POST, "/v2.0/tokens", None, Some(&body))
        .await;
    r.expect_status(200);
    token_of(&r)
}

#[track_caller]
fn refused(r: &ApiResponse, what: &str) {
    assert_eq!(r.code(), 403, "{what}: {}", r.json);
    assert_eq!(
        r.json["forbidden"]["message"].as_str(),
        Some(STEP_UP),
        "{what}: {}",
        r.json
    );
}

#[tokio::test]
async fn an_api_key_token_cannot_change_its_own_users_mfa_or_key_while_mfa_is_on() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let mut sub = api.new_sub_user(&ua).await;
    let dev = enable_otp_mfa(&api, &mut sub).await;
    let phone = api.fresh_phone().await;
    let key_token = api_key_token(&api, &sub, &sub.token).await;
    let id = &sub.id;
    let mf = format!("/v2.0/users/{id}/RAX-AUTH/multi-factor");
    let phones = format!("{mf}/mobile-phones");

    // Reads stay allowed.
    api.get(&key_token, &format!("/v2.0/users/{id}"))
        .await
        .expect_status(200);
    api.get(&key_token, &otp_devices_path(id))
        .await
        .expect_status(200);
    api.get(&key_token, &key_path(id)).await.expect_status(200);

    // Every change of factors, codes, settings or key is refused.
    let year = json!({"RAX-AUTH:bypassCodes": {"numberOfCodes": 10, "validityDuration": "P365D"}});
    refused(
        &api.post(&key_token, &bypass_path(id), &year).await,
        "bypass codes",
    );
    let device = json!({"RAX-AUTH:otpDevice": {"name": "attacker"}});
    refused(
        &api.post(&key_token, &otp_devices_path(id), &device).await,
        "add device",
    );
    let code = json!({"RAX-AUTH:verificationCode": {"code": "123456"}});
    let verify = format!("{}/verify", otp_device_path(id, &dev.id));
    refused(&api.post(&key_token, &verify, &code).await, "verify device");
    refused(
        &api.delete(&key_token, &otp_device_path(id, &dev.id)).await,
        "delete device",
    );
    let number = json!({"RAX-AUTH:mobilePhone": {"number": phone.display}});
    refused(&api.post(&key_token, &phones, &number).await, "add phone");
    let off = json!({"enabled": false});
    refused(&put_mfa(&api, &key_token, id, off).await, "mfa settings");
    refused(&api.delete(&key_token, &mf).await, "delete mfa");
    let reset = format!("{}/RAX-AUTH/reset", key_path(id));
    refused(&api.post_empty(&key_token, &reset).await, "reset key");
    refused(&api.delete(&key_token, &key_path(id)).await, "delete key");

    // Nothing changed: MFA is on with the device, the key still logs in.
    let view = api.get(&sub.token, &format!("/v2.0/users/{id}")).await;
    view.expect_status(200);
    assert_eq!(view.json["user"]["RAX-AUTH:multiFactorEnabled"], true);
    api.get(&sub.token, &otp_device_path(id, &dev.id))
        .await
        .expect_status(200);
    // With a token of the second factor, the same change is allowed.
    let one = json!({"RAX-AUTH:bypassCodes": {"numberOfCodes": 1}});
    api.post(&sub.token, &bypass_path(id), &one)
        .await
        .expect_status(200);

    // Acting on others is unchanged: the user-admin (no MFA of its own) automates with its key.
    let admin_key_token = api_key_token(&api, &ua, &ua.token).await;
    api.delete(&admin_key_token, &mf).await.expect_status(204);
}

#[tokio::test]
async fn an_api_key_token_still_manages_its_own_mfa_while_mfa_is_off() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    let key_token = api_key_token(&api, &sub, &sub.token).await;
    let device = json!({"RAX-AUTH:otpDevice": {"name": "cli"}});
    api.post(&key_token, &otp_devices_path(&sub.id), &device)
        .await
        .expect_status(201);
}

#[tokio::test]
async fn the_front_door_takes_a_burst_of_three_hundred_connections_without_a_reset() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let api = TestApi::new();
    let addr = api
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    // 300 connections at once, each with a malformed request line the front door answers itself (400),
    // so the burst measures its accept queue, not the functions behind it.
    let one = |addr: String| async move {
        let mut s = tokio::net::TcpStream::connect(&addr).await?;
        s.write_all(b"BURST / x HTTP/1.1\r\n\r\n").await?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer).into_owned())
    };
    let rs = futures::future::join_all((0..300).map(|_| one(addr.clone()))).await;
    let failures: Vec<String> = rs
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| format!("{e:?}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of 300 failed, e.g. {:?}",
        failures.len(),
        failures.first()
    );
    for r in rs.iter().flatten() {
        assert!(r.starts_with("HTTP/1.") && r.contains(" 400 "), "{r}");
    }
}
