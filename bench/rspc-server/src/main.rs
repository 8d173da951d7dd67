//! The rspc row: `profile.getUser` as an rspc 0.4.1 procedure (the 0.4 `Procedure::builder`
//! API) served by rspc's own axum adapter (`rspc-axum` 0.3, axum 0.7), written the way rspc's
//! examples write it: the context function takes the request's headers, a middleware verifies
//! the bearer token with `jsonwebtoken` (aws-lc-rs) and hands the procedure the caller, the
//! procedure checks `viewerId` against the verified subject.
//!
//! rspc's HTTP transport takes one call per request (`GET /rspc/profile.getUser?input=<json>`),
//! so the token is verified once per call; there is no batch to share it with.
//!
//! Settings: BENCH_PORT, BENCH_JWKS (the JWKS file), BENCH_ISSUER.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{header, HeaderMap};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use rspc::middleware::{Middleware, Next};
use rspc::{Procedure, ProcedureError, ResolverError, Router};
use serde::{Deserialize, Serialize};

struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    validation: Validation,
}

/// What the context function builds per request: the keys and the raw `Authorization` header.
#[derive(Clone)]
struct Ctx {
    keys: Arc<Keys>,
    authorization: Option<String>,
}

/// What the auth middleware hands on: the verified subject, if any.
struct Caller {
    user: Option<String>,
}

#[derive(Deserialize)]
struct TokenClaims {
    sub: String,
}

#[derive(Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
struct GetUserInput {
    viewer_id: Option<String>,
}

#[derive(Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    display_name: String,
    signed_in: bool,
}

/// The procedure's error type (rspc 0.4: any `Serialize + Type` value, turned into a
/// `ProcedureError`; the axum adapter answers it as JSON-RPC error code 500 in a 200 response).
#[derive(Debug, Serialize, specta::Type)]
#[serde(tag = "code")]
enum ApiError {
    Unauthorized,
    Forbidden,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ApiError::Unauthorized => "UNAUTHORIZED",
            ApiError::Forbidden => "FORBIDDEN",
        })
    }
}

impl std::error::Error for ApiError {}

impl rspc::Error for ApiError {
    fn into_procedure_error(self) -> ProcedureError {
        ResolverError::new(self.to_string(), Some(self)).into()
    }
}

/// The caller's verified subject, if the bearer token verifies.
fn authenticate(keys: &Keys, authorization: Option<&str>) -> Option<String> {
    let token = authorization?.strip_prefix("Bearer ")?;
    let kid = decode_header(token).ok()?.kid?;
    let key = keys.by_kid.get(&kid)?;
    let data = decode::<TokenClaims>(token, key, &keys.validation).ok()?;
    Some(data.claims.sub).filter(|sub| !sub.is_empty())
}

/// Verifies the bearer token of the request (every request: rspc has no cache for it) and
/// runs the rest of the procedure with the caller.
fn auth<I: Send + 'static, R: Send + 'static>() -> Middleware<ApiError, Ctx, I, R, Caller, I, R> {
    Middleware::new(
        |ctx: Ctx, input: I, next: Next<ApiError, Caller, I, R>| async move {
            let user = authenticate(&ctx.keys, ctx.authorization.as_deref());
            next.exec(Caller { user }, input).await
        },
    )
}

fn router() -> Router<Ctx> {
    Router::new().procedure("profile.getUser", {
        Procedure::builder::<ApiError>().with(auth()).query(
            |caller: Caller, input: GetUserInput| async move {
                match (caller.user, input.viewer_id) {
                    (None, Some(_)) => Err(ApiError::Unauthorized),
                    (Some(id), Some(viewer)) if viewer != id => Err(ApiError::Forbidden),
                    (Some(id), _) => Ok(User {
                        display_name: id.clone(),
                        id,
                        signed_in: true,
                    }),
                    (None, None) => Ok(User {
                        id: String::new(),
                        display_name: "Anonymous".into(),
                        signed_in: false,
                    }),
                }
            },
        )
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // jsonwebtoken 11 needs a crypto provider; only aws-lc-rs is compiled in.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let port: u16 = std::env::var("BENCH_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(4004);
    let issuer = std::env::var("BENCH_ISSUER")?;
    let jwks: JwkSet = serde_json::from_slice(&std::fs::read(std::env::var("BENCH_JWKS")?)?)?;
    let mut by_kid = HashMap::new();
    for jwk in &jwks.keys {
        if let Some(kid) = &jwk.common.key_id {
            by_kid.insert(kid.clone(), DecodingKey::from_jwk(jwk)?);
        }
    }
    // The policy of tabrpc's verifier defaults, as in the other rows: RS256 only, the issuer,
    // exp and nbf with 60 s of leeway.
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "sub", "iss"]);
    validation.leeway = 60;
    validation.validate_nbf = true;
    let keys = Arc::new(Keys { by_kid, validation });

    let (procedures, _types) = router()
        .build()
        .map_err(|errors| format!("router: {errors:?}"))?;
    let app = axum::Router::new().nest(
        "/rspc",
        rspc_axum::endpoint(procedures, move |headers: HeaderMap| Ctx {
            keys: keys.clone(),
            authorization: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("rspc listening on http://127.0.0.1:{port}/rspc");
    axum::serve(listener, app).await?;
    Ok(())
}
