//! The demo binary's start-up (auth.md §5): the development identity provider runs only when
//! chosen with `TABRPC_DEV_IDP=1` and only on a loopback address, checked on the address
//! actually bound; anything else stops start-up with a message naming the settings.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::*;

/// Runs the demo with `vars` (over [`demo_command`]'s clean environment, which sets no issuer)
/// and expects it to exit with an error: its stderr. A demo that starts instead fails the test.
async fn refused(vars: &[(&str, &str)]) -> String {
    let mut command = demo_command();
    command.envs(vars.iter().copied());
    let child = command.spawn().expect("the demo binary starts");
    let output = match tokio::time::timeout(PROCESS_START, child.wait_with_output()).await {
        Ok(output) => output.expect("the demo's output"),
        // Still running (`kill_on_drop` ends it): it started instead of refusing.
        Err(_) => panic!("{vars:?}: the demo started instead of refusing to"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "{vars:?} must stop start-up; stdout: {stdout}; stderr: {stderr}"
    );
    assert!(
        !stdout.contains("listening on"),
        "{vars:?}: the demo said it listens: {stdout}"
    );
    stderr
}

fn assert_names(stderr: &str, vars: &[(&str, &str)], names: &[&str]) {
    for name in names {
        assert!(
            stderr.contains(name),
            "{vars:?}: the error must name {name}: {stderr}"
        );
    }
}

/// Starts the demo with `vars` and returns its base URL (from its first line of output) with
/// the process, which is killed when dropped.
async fn started(vars: &[(&str, &str)]) -> (tokio::process::Child, String) {
    let mut command = demo_command();
    command.envs(vars.iter().copied());
    let mut child = command.spawn().expect("the demo binary starts");
    let base = match printed_address(&mut child).await {
        Ok(base) => base,
        Err(what) => {
            let _ = child.start_kill();
            let output = child.wait_with_output().await.expect("the demo's output");
            panic!(
                "{vars:?}: the demo printed no address ({what}); stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    };
    (child, base)
}

#[tokio::test]
async fn without_the_dev_idp_or_an_issuer_start_up_is_refused_naming_both() {
    for vars in [&[][..], &[("TABRPC_DEV_IDP", "0")][..]] {
        let stderr = refused(vars).await;
        assert_names(&stderr, vars, &["TABRPC_DEV_IDP", "TABRPC_AUTH_ISSUER"]);
    }
}

#[tokio::test]
async fn dev_idp_on_a_non_loopback_address_is_refused_naming_both_settings() {
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let vars = [("TABRPC_DEV_IDP", "1"), ("TABRPC_ADDR", addr)];
        let stderr = refused(&vars).await;
        assert_names(&stderr, &vars, &["TABRPC_DEV_IDP", "TABRPC_ADDR"]);
    }
}

#[tokio::test]
async fn dev_idp_together_with_an_issuer_is_refused_naming_both() {
    let vars = [
        ("TABRPC_DEV_IDP", "1"),
        ("TABRPC_AUTH_ISSUER", "https://issuer.example.test"),
        ("TABRPC_AUTH_JWKS", "/nonexistent/jwks.json"),
    ];
    let stderr = refused(&vars).await;
    assert_names(&stderr, &vars, &["TABRPC_DEV_IDP", "TABRPC_AUTH_ISSUER"]);
}

#[tokio::test]
async fn dev_idp_values_other_than_1_or_0_are_refused_naming_it() {
    for value in ["yes", "true", "2", "on"] {
        let vars = [("TABRPC_DEV_IDP", value)];
        let stderr = refused(&vars).await;
        assert_names(&stderr, &vars, &["TABRPC_DEV_IDP"]);
    }
}

#[tokio::test]
async fn dev_idp_key_without_the_dev_idp_is_refused_naming_both() {
    let vars = [("TABRPC_DEV_IDP_KEY", "/nonexistent/key.pem")];
    let stderr = refused(&vars).await;
    assert_names(&stderr, &vars, &["TABRPC_DEV_IDP_KEY", "TABRPC_DEV_IDP=1"]);
}

#[tokio::test]
async fn dev_idp_starts_on_loopback_addresses_by_number_or_by_name() {
    for addr in ["127.0.0.1:0", "[::1]:0", "localhost:0"] {
        let vars = [("TABRPC_DEV_IDP", "1"), ("TABRPC_ADDR", addr)];
        let (_child, base) = started(&vars).await;
        // The provider answers, on the address it printed.
        let reply = client()
            .get(format!("{base}/.well-known/jwks.json"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{addr}: {e}"));
        assert_eq!(reply.status().as_u16(), 200, "{addr}");
        let jwks: serde_json::Value = reply.json().await.expect("JWKS JSON");
        assert_eq!(jwks["keys"][0]["kty"], "RSA", "{addr}: {jwks}");
        let reply = client()
            .post(format!("{base}/dev-idp/sign-in"))
            .json(&serde_json::json!({ "account": "alice" }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{addr}: {e}"));
        assert_eq!(reply.status().as_u16(), 200, "{addr}");
    }
}
