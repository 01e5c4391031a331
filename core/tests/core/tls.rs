//! The chain's TLS material: made once into its folder, read back the same by every process, and
//! refused with the file's name when a file is not what it should be.

use checkout_core::tls::{CA_FILE, CERT_FILE, KEY_FILE, Tls};

#[test]
fn the_material_is_made_once_and_read_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().join("tls");
    let first = Tls::load_or_create(&tls_dir, true).unwrap();
    assert!(first.mutual && first.present_cert);
    for f in [CA_FILE, CERT_FILE, KEY_FILE] {
        assert!(tls_dir.join(f).exists(), "{f} written");
    }
    let again = Tls::load_or_create(&tls_dir, false).unwrap();
    assert_eq!(again.ca_pem, first.ca_pem, "the CA is not made twice");
    assert_eq!(again.key_pem, first.key_pem);
    assert!(!again.mutual);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tls_dir.join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the key is readable by its owner only");
    }
    // Both ends of a connection can be configured from it.
    first.server_config(&[b"h2"]).unwrap();
    first.without_client_cert().client_config(&[]).unwrap();
}

#[test]
fn processes_starting_at_once_share_one_authority() {
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().join("tls");
    let made: Vec<Tls> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| Tls::load_or_create(&tls_dir, true).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for t in &made[1..] {
        assert_eq!(t.ca_pem, made[0].ca_pem, "every process trusts the same CA");
        assert_eq!(t.cert_pem, made[0].cert_pem);
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "tls")
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary folders left: {leftovers:?}"
    );
}

#[test]
fn a_damaged_file_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    Tls::load_or_create(dir.path(), false).unwrap();
    std::fs::write(dir.path().join(CERT_FILE), "not a certificate").unwrap();
    let e = Tls::load(dir.path(), false).unwrap_err().to_string();
    assert!(e.contains(CERT_FILE), "{e}");
    std::fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
    let e = Tls::load(dir.path(), false).unwrap_err().to_string();
    assert!(e.contains(KEY_FILE), "{e}");
}
