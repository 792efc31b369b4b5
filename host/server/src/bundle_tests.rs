//! Bundles: what a signature covers, and what a malformed file gets.

use proptest::prelude::*;

use super::*;

fn bundle() -> Bundle {
    Bundle::new(
        "id = \"hook\"\ncapabilities = [\"tickets\"]\n".into(),
        b"\0asm\x0d\0\x01\0 component bytes\n".to_vec(),
        "# Hook\n".into(),
    )
}

fn signed() -> (Bundle, [u8; 32]) {
    let (key, _) = VendorKey::generate().expect("key");
    let mut b = bundle();
    b.sign(&key);
    (b, key.public())
}

#[test]
fn a_signed_bundle_round_trips_and_verifies_with_a_trusted_key() {
    let (b, public) = signed();
    let read = Bundle::parse(&b.to_bytes()).expect("parse");
    assert_eq!(read, b);
    assert_eq!(read.verify(&[public], false), Ok(Some(hex::encode(public))));
    let (_, other) = signed();
    assert_eq!(read.verify(&[other], false), Err(BundleError::Untrusted(hex::encode(public))));
}

#[test]
fn any_change_after_signing_breaks_the_signature() {
    let (b, public) = signed();
    let widened =
        Bundle { manifest: b.manifest.replace("[\"tickets\"]", "[\"tickets\", \"http:evil.example\"]"), ..b.clone() };
    let mut swapped = b.component.clone();
    swapped[10] ^= 1;
    for tampered in
        [widened, Bundle { component: swapped, ..b.clone() }, Bundle { readme: "# Other\n".into(), ..b.clone() }]
    {
        let read = Bundle::parse(&tampered.to_bytes()).expect("still a bundle");
        assert_eq!(read.verify(&[public], false), Err(BundleError::BadSignature));
    }
}

#[test]
fn unsigned_bundles_need_the_admin_to_allow_them() {
    assert_eq!(bundle().verify(&[], false), Err(BundleError::Unsigned));
    assert_eq!(bundle().verify(&[], true), Ok(None));
}

#[test]
fn a_malformed_file_is_named() {
    let good = signed().0.to_bytes();
    let cases: [(&[u8], &str); 5] = [
        (b"PK\x03\x04zip", "does not start with"),
        (&good[..good.len() - 3], "signature: cut short"),
        (b"switchboard-bundle 1\nmanifest 99999999999\nx\n", "manifest: cut short"),
        (b"switchboard-bundle 1\ncomponent 1\nx\n", "expected \"manifest <bytes>\""),
        (&[good.as_slice(), b"extra"].concat(), "bytes after the signature"),
    ];
    for (bytes, needle) in cases {
        let err = Bundle::parse(bytes).expect_err(needle).to_string();
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
fn public_keys_are_hex() {
    let public = signed().1;
    assert_eq!(parse_public_key(&hex::encode(public)), Ok(public));
    assert!(parse_public_key("abc").expect_err("too short").contains("\"abc\""));
}

proptest! {
    #[test]
    fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut input = MAGIC.to_vec();
        input.extend(bytes);
        let _ = Bundle::parse(&input);
    }

    #[test]
    fn any_parts_round_trip(manifest in ".{0,40}", component in proptest::collection::vec(any::<u8>(), 0..200), readme in ".{0,40}") {
        let b = Bundle::new(manifest, component, readme);
        prop_assert_eq!(Bundle::parse(&b.to_bytes()), Ok(b));
    }
}
