//! The generated TypeScript files on disk are exactly what the Rust code generates now.

#[test]
fn generated_files_on_disk_are_up_to_date() {
    let files = tabrpc_bindings::generate().unwrap_or_else(|err| panic!("generating: {err:?}"));
    let stale = tabrpc_bindings::check(&tabrpc_bindings::repo_root(), &files)
        .unwrap_or_else(|err| panic!("reading: {err:?}"));
    let report: Vec<String> = stale.iter().map(ToString::to_string).collect();
    assert!(
        stale.is_empty(),
        "stale generated TypeScript files:\n{}\nrun `{}` to regenerate them",
        report.join("\n"),
        tabrpc_bindings::REGENERATE
    );
}

#[test]
fn every_generated_file_starts_with_the_header() {
    for file in tabrpc_bindings::generate().unwrap_or_else(|err| panic!("{err:?}")) {
        assert!(
            file.contents
                .starts_with(&format!("{}\n", tabrpc::typescript::HEADER)),
            "{} has no generated header",
            file.path
        );
    }
}
