use std::path::Path;
use std::process::{Command, Output};

use rustls_ech::config::EchConfigList;
use rustls_ech::keyfile::KeyFile;

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rustls-ech"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn keygen_writes_an_owner_only_file_and_prints_its_list() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        &[
            "keygen",
            "--public-name",
            "public.example",
            "--config-id",
            "42",
            "--out",
            "ech.pem",
        ],
        dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));

    let printed = EchConfigList::from_base64(&stdout(&output)).unwrap();
    let config = &printed.configs()[0];
    assert_eq!(config.config_id(), 42);
    assert_eq!(config.public_name(), "public.example");

    let path = dir.path().join("ech.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let file = KeyFile::read(&path).unwrap();
    assert_eq!(file.key_config(), Some(config));
    assert_eq!(file.configs().encoded(), printed.encoded());
}

#[test]
fn keygen_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["keygen", "--public-name", "a.example", "--out", "ech.pem"];
    assert!(run(&args, dir.path()).status.success());
    let before = std::fs::read(dir.path().join("ech.pem")).unwrap();

    let refused = run(&args, dir.path());
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(stderr(&refused).lines().count(), 1);
    assert!(stderr(&refused).contains("ech.pem"));
    assert_eq!(std::fs::read(dir.path().join("ech.pem")).unwrap(), before);

    let forced = run(&[&args[..], &["--force"]].concat(), dir.path());
    assert!(forced.status.success());
    assert_ne!(std::fs::read(dir.path().join("ech.pem")).unwrap(), before);
}

#[test]
fn keygen_rejects_an_ip_public_name() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        &["keygen", "--public-name", "1.2.3.4", "--out", "ech.pem"],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output).lines().count(), 1);
    assert!(!dir.path().join("ech.pem").exists());
}

#[test]
fn show_prints_each_config_the_list_and_a_dns_record() {
    let dir = tempfile::tempdir().unwrap();
    for (kem, name, id, out) in [
        ("x25519", "first.example", "1", "a.pem"),
        ("p384", "second.example", "2", "b.pem"),
    ] {
        let output = run(
            &[
                "keygen",
                "--public-name",
                name,
                "--kem",
                kem,
                "--config-id",
                id,
                "--max-name-length",
                "16",
                "--out",
                out,
            ],
            dir.path(),
        );
        assert!(output.status.success(), "{}", stderr(&output));
    }

    let output = run(&["show", "a.pem", "b.pem"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "a.pem:",
        "b.pem:",
        "version: 0xfe0d",
        "config_id: 1",
        "config_id: 2",
        "kem: DHKEM(X25519, HKDF-SHA256) (0x0020)",
        "kem: DHKEM(P-384, HKDF-SHA384) (0x0011)",
        "cipher_suites: HKDF-SHA256/AES-128-GCM, HKDF-SHA256/AES-256-GCM, HKDF-SHA256/ChaCha20Poly1305",
        "cipher_suites: HKDF-SHA384/AES-128-GCM",
        "public_name: first.example",
        "public_name: second.example",
        "maximum_name_length: 16",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }

    let ech = text
        .lines()
        .find_map(|line| line.strip_prefix("ech="))
        .unwrap();
    let list = EchConfigList::from_base64(ech).unwrap();
    let ids: Vec<u8> = list.configs().iter().map(|c| c.config_id()).collect();
    assert_eq!(ids, [1, 2]);
    let dns = format!("NAME. 300 IN HTTPS 1 . ech=\"{ech}\"");
    assert!(text.lines().any(|line| line == dns), "{text}");

    // The record goes under the protected name the user gives.
    let output = run(
        &["show", "a.pem", "--dns-name", "secret.example"],
        dir.path(),
    );
    let text = stdout(&output);
    assert!(
        text.lines()
            .any(|line| line.starts_with("secret.example. 300 IN HTTPS 1 . ech=\"")),
        "{text}"
    );
}

fn generated_pem(dir: &Path, name: &str) -> String {
    let output = run(
        &["keygen", "--public-name", "a.example", "--out", name],
        dir,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn show_fails_with_one_line_naming_the_file_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.pem"), "not a key file\n").unwrap();

    // The key of one file in front of the config of another.
    let first = generated_pem(dir.path(), "first.pem");
    let second = generated_pem(dir.path(), "second.pem");
    let split = |text: &str| text.find("-----BEGIN ECHCONFIG").unwrap();
    let mixed = format!("{}{}", &first[..split(&first)], &second[split(&second)..]);
    std::fs::write(dir.path().join("mixed.pem"), mixed).unwrap();

    for (args, file, problem) in [
        (vec!["show", "missing.pem"], "missing.pem", "No such file"),
        (vec!["show", "bad.pem"], "bad.pem", "not a PEM file"),
        (
            vec!["show", "mixed.pem"],
            "mixed.pem",
            "matches no ECHConfig",
        ),
        (
            vec!["show", "first.pem", "bad.pem"],
            "bad.pem",
            "not a PEM file",
        ),
    ] {
        let output = run(&args, dir.path());
        assert_eq!(output.status.code(), Some(1), "{file}");
        assert!(output.stdout.is_empty(), "{file}");
        let err = stderr(&output);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(file) && err.contains(problem), "{err}");
    }
}
