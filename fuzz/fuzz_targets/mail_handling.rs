//! Arbitrary bytes as a received message: the e-mail channel must handle
//! it without a panic, and handling it again must not open a second
//! ticket.
#![no_main]

#[allow(dead_code, missing_docs)]
#[path = "../../plugins/email-alias/src/lib.rs"]
mod email_alias;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    email_alias::fuzz_mail(data);
});
