//! Arbitrary bytes from an SMTP client: the session must end without a
//! panic, and every line it writes must be a well-formed reply.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    switchboard_server::fuzzing::smtp_session(data);
});
