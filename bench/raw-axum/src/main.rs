//! The practical limit: `profile.getUser` as one axum 0.8 handler written directly on
//! `jsonwebtoken` (aws-lc-rs), no framework. It speaks just enough of tRPC v11's HTTP protocol
//! for what `httpBatchLink` sends here (GET, `?batch=1`, comma-separated paths, inputs keyed
//! "0", "1", …) and verifies the bearer token on every request.
//!
//! Settings: BENCH_PORT, BENCH_JWKS (the JWKS file), BENCH_ISSUER.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::{Deserialize, Serialize};

struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    validation: Validation,
}

#[derive(Deserialize)]
struct TokenClaims {
    sub: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct GetUserInput {
    viewer_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct User<'a> {
    id: &'a str,
    display_name: &'a str,
    signed_in: bool,
}

#[derive(Serialize)]
struct Data<'a> {
    result: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    data: User<'a>,
}

fn error_envelope(out: &mut Vec<u8>, name: &str, json_rpc: i32, status: u16, path: &str) {
    let value = serde_json::json!({"error": {"message": name, "code": json_rpc,
        "data": {"code": name, "httpStatus": status, "path": path}}});
    out.extend_from_slice(value.to_string().as_bytes());
}

/// The caller's verified subject, if the bearer token verifies.
fn authenticate(keys: &Keys, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let kid = decode_header(token).ok()?.kid?;
    let key = keys.by_kid.get(&kid)?;
    let data = decode::<TokenClaims>(token, key, &keys.validation).ok()?;
    Some(data.claims.sub).filter(|sub| !sub.is_empty())
}

async fn trpc(
    State(keys): State<Arc<Keys>>,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let user = authenticate(&keys, &headers);
    let mut batch = false;
    let mut input = None;
    for (key, value) in form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        match &*key {
            "batch" => batch = value == "1",
            "input" => input = Some(value.into_owned()),
            _ => {}
        }
    }
    let paths: Vec<&str> = if batch {
        path.split(',').collect()
    } else {
        vec![path.as_str()]
    };
    let inputs: Option<HashMap<String, GetUserInput>> = match (&input, batch) {
        (None, _) => Some(HashMap::new()),
        (Some(text), true) => serde_json::from_str(text).ok(),
        (Some(text), false) => serde_json::from_str::<Option<GetUserInput>>(text)
            .ok()
            .map(|one| one.into_iter().map(|i| ("0".to_owned(), i)).collect()),
    };
    let Some(inputs) = inputs else {
        return (StatusCode::BAD_REQUEST, "bad input").into_response();
    };

    let mut body = Vec::with_capacity(96 * paths.len());
    let mut status = None;
    if batch {
        body.push(b'[');
    }
    for (index, path) in paths.iter().enumerate() {
        if index > 0 {
            body.push(b',');
        }
        let viewer = inputs
            .get(&index.to_string())
            .and_then(|i| i.viewer_id.as_deref());
        let outcome = match (*path, &user, viewer) {
            ("profile.getUser", None, Some(_)) => Err(("UNAUTHORIZED", -32001, 401)),
            ("profile.getUser", Some(id), Some(viewer)) if viewer != id => {
                Err(("FORBIDDEN", -32003, 403))
            }
            ("profile.getUser", user, _) => Ok(user),
            _ => Err(("NOT_FOUND", -32004, 404)),
        };
        let code = match outcome {
            Ok(Some(id)) => {
                let data = Data {
                    result: Inner {
                        data: User {
                            id,
                            display_name: id,
                            signed_in: true,
                        },
                    },
                };
                let _ = serde_json::to_writer(&mut body, &data);
                200
            }
            Ok(None) => {
                body.extend_from_slice(
                    br#"{"result":{"data":{"id":"","displayName":"Anonymous","signedIn":false}}}"#,
                );
                200
            }
            Err((name, json_rpc, http)) => {
                error_envelope(&mut body, name, json_rpc, http, path);
                http
            }
        };
        status = match status {
            None => Some(code),
            Some(same) if same == code => Some(same),
            Some(_) => Some(207),
        };
    }
    if batch {
        body.push(b']');
    }
    let status = StatusCode::from_u16(status.unwrap_or(200)).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // jsonwebtoken 11 needs a crypto provider; only aws-lc-rs is compiled in.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let port: u16 = std::env::var("BENCH_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(4003);
    let issuer = std::env::var("BENCH_ISSUER")?;
    let jwks: JwkSet = serde_json::from_slice(&std::fs::read(std::env::var("BENCH_JWKS")?)?)?;
    let mut by_kid = HashMap::new();
    for jwk in &jwks.keys {
        if let Some(kid) = &jwk.common.key_id {
            by_kid.insert(kid.clone(), DecodingKey::from_jwk(jwk)?);
        }
    }
    // The policy of tabrpc's verifier defaults: RS256 only, the issuer, exp and nbf with 60 s
    // of leeway.
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "sub", "iss"]);
    validation.leeway = 60;
    validation.validate_nbf = true;
    let keys = Arc::new(Keys { by_kid, validation });

    let app = Router::new()
        .route("/trpc/{path}", get(trpc))
        .with_state(keys);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("raw-axum listening on http://127.0.0.1:{port}/trpc");
    axum::serve(listener, app).await?;
    Ok(())
}
