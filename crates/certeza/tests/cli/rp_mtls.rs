//! Mutual TLS as an operator sets it up: certificates in files, the paths in
//! `certeza.toml`, `certeza rp add --client-certificate`, `certeza serve`, and
//! curl as the bank's client, over a real socket.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};

fn authority(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    (params.self_signed(&key).unwrap(), key)
}

fn issue(directory: &Path, name: &str, by: &(rcgen::Certificate, KeyPair), usage: ExtendedKeyUsagePurpose) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.extended_key_usages = vec![usage];
    let certificate = params.signed_by(&key, &by.0, &by.1).unwrap();
    std::fs::write(directory.join(format!("{name}.pem")), certificate.pem()).unwrap();
    std::fs::write(directory.join(format!("{name}-key.pem")), key.serialize_pem()).unwrap();
}

/// `curl` POSTs a verification; returns the HTTP status (0: no answer).
fn curl(tls: &Path, base: &str, key: &str, client: Option<&str>, request_id: &str, person: &[&str]) -> String {
    let body = format!(
        r#"{{"request_id":"{request_id}","purpose":"identity-verification","consent":{{"reference":"c-1","obtained_at":"2026-01-01T12:00:00Z","method":"app"}},"fields":{{"cic":"{}","ocr":"{}"}}}}"#,
        person[0], person[1]
    );
    let mut command = Command::new("curl");
    command.args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"]).arg(tls.join("server-ca.pem")).args([
        "-H",
        &format!("authorization: Bearer {key}"),
        "-H",
        "content-type: application/json",
        "-d",
        &body,
    ]);
    if let Some(client) = client {
        command.arg("--cert").arg(tls.join(format!("{client}.pem")));
        command.arg("--key").arg(tls.join(format!("{client}-key.pem")));
    }
    let output = command.arg(format!("{base}/v1/verifications")).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn an_operator_binds_a_bank_to_its_client_certificate() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    assert!(super::certeza(&data, &["init"]).status.success());
    let tls = data.join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    let server_ca = authority("Server CA");
    std::fs::write(tls.join("server-ca.pem"), server_ca.0.pem()).unwrap();
    issue(&tls, "server", &server_ca, ExtendedKeyUsagePurpose::ServerAuth);
    let client_ca = authority("Banks CA");
    std::fs::write(tls.join("clients-ca.pem"), client_ca.0.pem()).unwrap();
    issue(&tls, "bank", &client_ca, ExtendedKeyUsagePurpose::ClientAuth);
    issue(&tls, "other-bank", &client_ca, ExtendedKeyUsagePurpose::ClientAuth);
    let config = std::fs::read_to_string(data.join("certeza.toml")).unwrap().replace(
        "[server]\n",
        "[server]\ntls_certificate_file = \"tls/server.pem\"\ntls_private_key_file = \"tls/server-key.pem\"\n\
         tls_client_ca_file = \"tls/clients-ca.pem\"\n",
    );
    std::fs::write(data.join("certeza.toml"), config).unwrap();

    // Import a few people, register one bank bound to its certificate and one without.
    let people = directory.path().join("people.csv");
    assert!(
        super::certeza(
            &data,
            &["population", "generate", "--count", "20", "--seed", "3", "--out", people.to_str().unwrap()]
        )
        .status
        .success()
    );
    assert!(super::certeza(&data, &["registry", "import", people.to_str().unwrap()]).status.success());
    let bank_certificate = tls.join("bank.pem");
    let added = super::certeza(
        &data,
        &["rp", "add", "Banco Mutuo", "--client-certificate", bank_certificate.to_str().unwrap()],
    );
    assert!(added.status.success(), "{}", super::text(&added.stderr));
    let bound_key = super::text(&added.stdout).lines().last().unwrap().trim().to_owned();
    let listed = super::text(&super::certeza(&data, &["rp", "list"]).stdout);
    assert!(listed.contains("client_certificate=") && !listed.contains("client_certificate=none"), "{listed}");
    let added = super::certeza(&data, &["rp", "add", "Banco Simple"]);
    let plain_key = super::text(&added.stdout).lines().last().unwrap().trim().to_owned();
    // A file that holds no certificate is refused with a clear message.
    let refused = super::certeza(&data, &["rp", "add", "Banco Roto", "--client-certificate", people.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(super::text(&refused.stderr).contains("certificate"), "{}", super::text(&refused.stderr));

    let server = super::Running::start(
        Command::new(env!("CARGO_BIN_EXE_certeza"))
            .arg("--data")
            .arg(&data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("CERTEZA_LOG", "error")
            .env_remove("CERTEZA_DATABASE__URL"),
    );
    let base = server
        .line_after("serving at ")
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('/')
        .replace("127.0.0.1", "localhost");
    assert!(base.starts_with("https://"), "{base}");

    let csv = std::fs::read_to_string(&people).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    let column = |name: &str| row[header.iter().position(|column| *column == name).unwrap()];
    let person = [column("cic"), column("ocr")];

    assert_eq!(curl(&tls, &base, &bound_key, Some("bank"), "m-1", &person), "200");
    assert_eq!(curl(&tls, &base, &bound_key, None, "m-2", &person), "401");
    assert_eq!(curl(&tls, &base, &bound_key, Some("other-bank"), "m-3", &person), "401");
    assert_eq!(curl(&tls, &base, &plain_key, None, "m-4", &person), "200");
    drop(server);
}
